#!/usr/bin/env bash
# `hubload cache verify` against `sha256sum` of the same blobs, same run.
#   bench/cache-verify-bench.sh [BUILD_DIR] [RUNS] [TOTAL_MIB] [FILES]
# Defaults: build 3 2048 1 (the 2 GiB single-file bench model; FILES=4 gives
# 4 x 512 MiB shards). Writes a Hub cache of random LFS blobs (named by their
# sha256, as downloads name them), reads it once so both tools hash from the page
# cache, then alternates the tools RUNS times. Prints, per tool, the median wall
# time, its MB/s, and the median CPU seconds (user + sys), then hubload's speed
# relative to sha256sum. THREADS (default: hubload's default, every core) is
# passed as --threads; the row "hubload --threads 1" is always measured too.
# Deletes the generated data at the end.
set -euo pipefail
BUILD=${1:-build}; RUNS=${2:-3}; TOTAL=${3:-2048}; FILES=${4:-1}
HUBLOAD=$(realpath "$BUILD/bin/hubload")
WORK=$(mktemp -d /tmp/hubload-verify-bench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
REPO="$WORK/hub/models--bench--model"
COMMIT=$(printf '%040d' 1)
mkdir -p "$REPO/blobs" "$REPO/snapshots/$COMMIT" "$REPO/refs"
printf '%s' "$COMMIT" > "$REPO/refs/main"
for i in $(seq 1 "$FILES"); do
  f="$WORK/shard-$i"
  head -c $(((TOTAL / FILES) << 20)) /dev/urandom > "$f"
  sum=$(sha256sum "$f" | cut -d' ' -f1)
  mv "$f" "$REPO/blobs/$sum"
  ln -s "../../blobs/$sum" "$REPO/snapshots/$COMMIT/model-$i.safetensors"
done
BYTES=$(cat "$REPO"/blobs/* | wc -c)
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# Wall and CPU seconds of one command ("WALL CPU"), its output discarded.
measure() {
  local t0 t1 c0 c1 me=$BASHPID  # this subshell: it waits for the command, so its children's CPU lands here
  c0=$(awk '{print $14 + $15 + $16 + $17}' /proc/$me/stat)
  t0=$(date +%s.%N)
  "$@" > /dev/null
  t1=$(date +%s.%N)
  c1=$(awk '{print $14 + $15 + $16 + $17}' /proc/$me/stat)
  awk -v a="$t0" -v b="$t1" -v c="$c0" -v d="$c1" -v hz="$(getconf CLK_TCK)" \
    'BEGIN {printf "%.3f %.2f\n", b - a, (d - c) / hz}'
}

cat "$REPO"/blobs/* > /dev/null  # into the page cache for both tools
declare -A wall cpu
THREAD_ARGS=()
[ -n "${THREADS:-}" ] && THREAD_ARGS=(--threads "$THREADS")
for r in $(seq 1 "$RUNS"); do
  read -r w c < <(measure sha256sum "$REPO"/blobs/*); wall[sha]+="$w "; cpu[sha]+="$c "
  read -r w c < <(measure "$HUBLOAD" cache verify --cache-dir "$WORK/hub" "${THREAD_ARGS[@]}")
  wall[hub]+="$w "; cpu[hub]+="$c "
  read -r w c < <(measure "$HUBLOAD" cache verify --cache-dir "$WORK/hub" --threads 1)
  wall[hub1]+="$w "; cpu[hub1]+="$c "
done
"$HUBLOAD" cache verify --cache-dir "$WORK/hub" "${THREAD_ARGS[@]}" > /dev/null  # must pass: exit 0

echo "$FILES file(s), $BYTES bytes, $RUNS runs, load before: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores"
printf '%-22s %10s %8s %9s   %s\n' tool "wall (s)" "MB/s" "CPU (s)" "runs (wall)"
declare -A label=([sha]="sha256sum" [hub]="hubload cache verify" [hub1]="hubload --threads 1")
for k in sha hub hub1; do
  w=$(tr ' ' '\n' <<< "${wall[$k]}" | grep . | median)
  c=$(tr ' ' '\n' <<< "${cpu[$k]}" | grep . | median)
  printf '%-22s %10s %8.0f %9s   %s\n' "${label[$k]}" "$w" "$(awk -v b="$BYTES" -v s="$w" 'BEGIN {print b / s / 1e6}')" \
    "$c" "${wall[$k]}"
  declare "med_$k=$w"
done
awk -v s="$med_sha" -v h="$med_hub" -v h1="$med_hub1" \
  'BEGIN {printf "hubload / sha256sum speed: %.2fx (default threads), %.2fx (--threads 1)\n", s / h, s / h1}'
