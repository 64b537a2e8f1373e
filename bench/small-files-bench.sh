#!/usr/bin/env bash
# Many small files on 127.0.0.1: `hubload download --include '*'` of a repo of
# COUNT files of KIB KiB each vs 8 parallel curls of the same files (the
# baseline where Python's huggingface_hub is not at hand), same `hubload serve`.
#   bench/small-files-bench.sh [BUILD_DIR] [RUNS] [COUNT] [KIB]   (default: build 3 1000 100)
# Prints files/s medians of RUNS runs (each run's in brackets), the ratio, the
# peak RSS of hubload's runs and the load average before the runs; deletes the
# data at the end.
set -euo pipefail
BUILD=${1:-build}; RUNS=${2:-3}; COUNT=${3:-1000}; KIB=${4:-100}
HUBLOAD=$(realpath "$BUILD/bin/hubload")
WORK=$(mktemp -d /tmp/hubload-small-files.XXXXXX)
trap 'kill $SERVER_PID 2>/dev/null || true; rm -rf "$WORK"' EXIT
mkdir -p "$WORK/repo/data"
for i in $(seq -w 1 "$COUNT"); do head -c $((KIB << 10)) /dev/urandom > "$WORK/repo/data/part-$i.bin"; done
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
rate() { awk -v n="$1" -v s="$2" 'BEGIN {printf "%.0f", n / s}'; }

"$HUBLOAD" serve --repo bench/many="$WORK/repo" --port-file "$WORK/port" --threads 64 > /dev/null 2>&1 &
SERVER_PID=$!
for _ in $(seq 100); do [ -s "$WORK/port" ] && break; sleep 0.1; done
PORT=$(cat "$WORK/port")
BASE="http://127.0.0.1:$PORT/bench/many/resolve/main"
# The server hashes each file once for its ETag and listing: do it now.
curl -sf -o /dev/null "http://127.0.0.1:$PORT/api/models/bench/many/revision/main?blobs=true"
(cd "$WORK/repo" && find data -type f | sort) > "$WORK/list"

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
h=(); c=(); rss=0
for r in $(seq 1 "$RUNS"); do
  rm -rf "$WORK/cache" "$WORK/dl"; mkdir -p "$WORK/dl/data"; sync
  t0=$(date +%s.%N)
  /usr/bin/time -v -o "$WORK/time.txt" "$HUBLOAD" download bench/many --include '*' --quiet \
    --endpoint "http://127.0.0.1:$PORT" --cache-dir "$WORK/cache" > /dev/null
  t1=$(date +%s.%N)
  h+=("$(rate "$COUNT" "$(echo "$t1 - $t0" | bc)")")
  run_rss=$(awk -F: '/Maximum resident/ {print $2+0}' "$WORK/time.txt")
  [ "$run_rss" -gt "$rss" ] && rss=$run_rss
  t0=$(date +%s.%N)
  xargs -P 8 -I{} curl -sf -o "$WORK/dl/{}" "$BASE/{}" < "$WORK/list"
  t1=$(date +%s.%N)
  c+=("$(rate "$COUNT" "$(echo "$t1 - $t0" | bc)")")
done
hm=$(printf '%s\n' "${h[@]}" | median); cm=$(printf '%s\n' "${c[@]}" | median)
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| case | hubload files/s | 8 parallel curls files/s | hubload / curls | hubload peak RSS MiB |"
echo "|---|---|---|---|---|"
printf '| %s x %s KiB | %s (%s) | %s (%s) | %.2f | %s |\n' "$COUNT" "$KIB" "$hm" "${h[*]}" "$cm" "${c[*]}" \
  "$(echo "$hm / $cm" | bc -l)" "$((rss / 1024))"
