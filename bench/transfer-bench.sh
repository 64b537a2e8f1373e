#!/usr/bin/env bash
# Transfer benchmark on 127.0.0.1: hubload download vs curl (one stream) vs
# aria2c -x16 -s16, same server (`hubload serve`), same random files.
#   bench/transfer-bench.sh [BUILD_DIR] [RUNS] [SINGLE_MIB] [SHARD_MIB] [SHARDS]
# Defaults: build 3 2048 512 4 (a 2 GiB single-file repo and a 4 x 512 MiB one),
# each uncapped and capped at 50 MB/s per connection (--limit-rate). Prints MB/s
# medians of RUNS runs (each run's figure in brackets) and the peak RSS of the
# runs; deletes the generated data at the end.
# ONLY="capped-single" (any of: ceiling single sharded capped-single
# capped-sharded) runs just those parts. CONNECTIONS is hubload's --connections
# and MAX_CONNECTIONS its --max-connections (the CLI's defaults, 8 and 16, when
# unset): the count starts at the first and adapts up to the second. The capped
# rows' bound is connections x 50 MB/s. One curl stream at 50 MB/s takes 40 s
# for 2 GiB and is not the baseline there: the capped rows skip it unless
# CURL_CAPPED=1. Each row starts with the load average of the minute before.
set -euo pipefail
BUILD=${1:-build}; RUNS=${2:-3}; SINGLE=${3:-2048}; SHARD=${4:-512}; SHARDS=${5:-4}
HUBLOAD=$(realpath "$BUILD/bin/hubload")
WORK=$(mktemp -d /tmp/hubload-transfer-bench.XXXXXX)
trap 'kill $SERVER_PID 2>/dev/null || true; rm -rf "$WORK"' EXIT
mkdir -p "$WORK/single" "$WORK/sharded"
head -c $((SINGLE << 20)) /dev/urandom > "$WORK/single/model.safetensors"
for i in $(seq 1 "$SHARDS"); do head -c $((SHARD << 20)) /dev/urandom > "$WORK/sharded/shard-$i.safetensors"; done
ONLY=${ONLY:-}
CONNECTIONS=${CONNECTIONS:-8}
MAX_CONNECTIONS=${MAX_CONNECTIONS:-16}
CURL_CAPPED=${CURL_CAPPED:-0}
want() { [ -z "$ONLY" ] || [[ " $ONLY " == *" $1 "* ]]; }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
mbps() { awk -v b="$1" -v s="$2" 'BEGIN {printf "%.0f", b / s / 1e6}'; }

start_server() {  # $1: --limit-rate value or ""
  local rate=()
  [ -n "$1" ] && rate=(--limit-rate "$1")
  "$HUBLOAD" serve --repo bench/single="$WORK/single" --repo bench/sharded="$WORK/sharded" \
    --port-file "$WORK/port" --threads 64 "${rate[@]}" > /dev/null 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 100); do [ -s "$WORK/port" ] && break; sleep 0.1; done
  PORT=$(cat "$WORK/port")
  # The server hashes a file for its ETag on the first request; do that now,
  # or the first client of every run after a restart pays for it.
  for repo in single sharded; do
    for f in $(ls "$WORK/$repo"); do curl -sfI -o /dev/null "http://127.0.0.1:$PORT/bench/$repo/resolve/main/$f"; done
  done
}
stop_server() { kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; rm -f "$WORK/port"; }

run_case() {  # $1 label, $2 repo, $3 bytes, $4 1: skip curl
  local label=$1 repo=$2 bytes=$3 skip_curl=${4:-0} files url load
  load=$(cut -d' ' -f1 /proc/loadavg)
  files=$(ls "$WORK/${repo}")
  local h=() c=() a=() rss=0
  for r in $(seq 1 "$RUNS"); do
    rm -rf "$WORK/cache" "$WORK/dl"; mkdir -p "$WORK/dl"; sync
    local t0 t1
    t0=$(date +%s.%N)
    /usr/bin/time -v -o "$WORK/time.txt" "$HUBLOAD" download "bench/$repo" --include '*' --quiet --connections "$CONNECTIONS" \
      --max-connections "$MAX_CONNECTIONS" \
      --endpoint "http://127.0.0.1:$PORT" --cache-dir "$WORK/cache" > /dev/null
    t1=$(date +%s.%N)
    h+=("$(mbps "$bytes" "$(echo "$t1 - $t0" | bc)")")
    local run_rss
    run_rss=$(awk -F: '/Maximum resident/ {print $2+0}' "$WORK/time.txt")
    [ "$run_rss" -gt "$rss" ] && rss=$run_rss
    if [ "$skip_curl" = 1 ]; then
      c+=(0)
    else
      t0=$(date +%s.%N)
      for f in $files; do curl -s -o "$WORK/dl/$f" "http://127.0.0.1:$PORT/bench/$repo/resolve/main/$f"; done
      t1=$(date +%s.%N); c+=("$(mbps "$bytes" "$(echo "$t1 - $t0" | bc)")"); rm -rf "$WORK/dl"/*
    fi
    t0=$(date +%s.%N)
    for f in $files; do aria2c -q -x16 -s16 -k1M -d "$WORK/dl" -o "$f" "http://127.0.0.1:$PORT/bench/$repo/resolve/main/$f"; done
    t1=$(date +%s.%N); a+=("$(mbps "$bytes" "$(echo "$t1 - $t0" | bc)")"); rm -rf "$WORK/dl"/*
  done
  local hm cm am
  hm=$(printf '%s\n' "${h[@]}" | median); cm=$(printf '%s\n' "${c[@]}" | median); am=$(printf '%s\n' "${a[@]}" | median)
  # Medians, each run's figure in brackets; RSS is the largest of the runs.
  printf '| %s | %s | %s (%s) | %s (%s) | %s (%s) | %.2f | %s |\n' "$label" "$load" "$hm" "${h[*]}" "$cm" "${c[*]}" "$am" "${a[*]}" \
    "$(echo "$hm / $am" | bc -l)" "$((rss / 1024))"
}

# The machine's ceiling: one curl stream to /dev/null, and dd of the same bytes
# from page cache into the cache's file system.
start_server ""
if want ceiling; then
cat "$WORK/single/model.safetensors" > /dev/null
cn=(); dn=(); dsn=(); sn=(); on=()
for r in $(seq 1 "$RUNS"); do
  t0=$(date +%s.%N); curl -s -o /dev/null "http://127.0.0.1:$PORT/bench/single/resolve/main/model.safetensors"; t1=$(date +%s.%N)
  cn+=("$(mbps $((SINGLE << 20)) "$(echo "$t1 - $t0" | bc)")")
  t0=$(date +%s.%N); dd if="$WORK/single/model.safetensors" of="$WORK/dd.out" bs=4M status=none; t1=$(date +%s.%N); rm -f "$WORK/dd.out"
  dn+=("$(mbps $((SINGLE << 20)) "$(echo "$t1 - $t0" | bc)")")
  # The same with the data made durable, as hubload's resume journal does: the disk itself.
  t0=$(date +%s.%N); dd if="$WORK/single/model.safetensors" of="$WORK/dd.out" bs=4M conv=fdatasync status=none; t1=$(date +%s.%N); rm -f "$WORK/dd.out"
  dsn+=("$(mbps $((SINGLE << 20)) "$(echo "$t1 - $t0" | bc)")")
  # One core's SHA-256 over the same bytes, from the page cache.
  t0=$(date +%s.%N); sha256sum "$WORK/single/model.safetensors" > /dev/null; t1=$(date +%s.%N)
  sn+=("$(mbps $((SINGLE << 20)) "$(echo "$t1 - $t0" | bc)")")
  # The same through OpenSSL, the library hubload hashes with (SHA extensions where the CPU has them).
  t0=$(date +%s.%N); openssl dgst -sha256 "$WORK/single/model.safetensors" > /dev/null; t1=$(date +%s.%N)
  on+=("$(mbps $((SINGLE << 20)) "$(echo "$t1 - $t0" | bc)")")
done
CURL_NULL="$(printf '%s\n' "${cn[@]}" | median) (${cn[*]})"
DD="$(printf '%s\n' "${dn[@]}" | median) (${dn[*]})"
DD_SYNC="$(printf '%s\n' "${dsn[@]}" | median) (${dsn[*]})"
SHA="$(printf '%s\n' "${sn[@]}" | median) (${sn[*]}), openssl dgst -sha256 $(printf '%s\n' "${on[@]}" | median) (${on[*]})"
echo "ceiling (load $(cut -d' ' -f1 /proc/loadavg)): curl -o /dev/null ${CURL_NULL} MB/s, dd into the cache file system ${DD} MB/s, sha256sum ${SHA} MB/s"
echo "(not part of the ceiling: dd conv=fdatasync ${DD_SYNC} MB/s)"
fi
echo "hubload --connections $CONNECTIONS --max-connections $MAX_CONNECTIONS; aria2c -x16 -s16 -k1M"
echo "| case | load avg | hubload MB/s | curl MB/s | aria2c MB/s | hubload / aria2c | hubload peak RSS MiB |"
echo "|---|---|---|---|---|---|---|"
want single && run_case "single ${SINGLE} MiB, uncapped" single $((SINGLE << 20))
want sharded && run_case "${SHARDS} x ${SHARD} MiB, uncapped" sharded $((SHARDS * SHARD << 20))
stop_server
start_server 50m
SKIP=$([ "$CURL_CAPPED" = 1 ] && echo 0 || echo 1)
want capped-single && run_case "single ${SINGLE} MiB, 50 MB/s per connection" single $((SINGLE << 20)) "$SKIP"
want capped-sharded && run_case "${SHARDS} x ${SHARD} MiB, 50 MB/s per connection" sharded $((SHARDS * SHARD << 20)) "$SKIP"
stop_server
