#!/usr/bin/env bash
# Where the CPU goes in one uncapped download on 127.0.0.1: the client's user and
# system seconds, the server's, and the machine's idle core-seconds, for each
# --connections value given.
#   bench/transfer-cpu.sh [BUILD_DIR] [MIB] [CONNECTIONS...]   (default: build 2048 8 16 8 16)
# A download is CPU-bound when client + server seconds come close to
# cores x wall time.
set -euo pipefail
BUILD=${1:-build}; MIB=${2:-2048}; shift $(( $# > 2 ? 2 : $# ))
CONNS=("$@"); [ ${#CONNS[@]} -gt 0 ] || CONNS=(8 16 8 16)
HUBLOAD=$(realpath "$BUILD/bin/hubload")
WORK=$(mktemp -d /tmp/hubload-transfer-cpu.XXXXXX)
trap 'kill $SERVER_PID 2>/dev/null || true; rm -rf "$WORK"' EXIT
mkdir -p "$WORK/repo"
head -c $((MIB << 20)) /dev/urandom > "$WORK/repo/model.safetensors"; sync
"$HUBLOAD" serve --repo bench/cpu="$WORK/repo" --port-file "$WORK/port" --threads 64 > /dev/null 2>&1 &
SERVER_PID=$!
for _ in $(seq 100); do [ -s "$WORK/port" ] && break; sleep 0.1; done
PORT=$(cat "$WORK/port")
curl -sfI -o /dev/null "http://127.0.0.1:$PORT/bench/cpu/resolve/main/model.safetensors"  # the server hashes once
TICK=$(getconf CLK_TCK); CORES=$(nproc)
for c in "${CONNS[@]}"; do
  rm -rf "$WORK/cache"; sync; sleep 1
  s0=$(awk '{print $14 + $15}' "/proc/$SERVER_PID/stat"); i0=$(awk '/^cpu / {print $5 + $6}' /proc/stat)
  t0=$(date +%s.%N)
  /usr/bin/time -f "%U %S" -o "$WORK/time" "$HUBLOAD" download bench/cpu --include '*' --quiet \
    --connections "$c" --endpoint "http://127.0.0.1:$PORT" --cache-dir "$WORK/cache" > /dev/null
  t1=$(date +%s.%N)
  s1=$(awk '{print $14 + $15}' "/proc/$SERVER_PID/stat"); i1=$(awk '/^cpu / {print $5 + $6}' /proc/stat)
  read -r user sys < "$WORK/time"
  awk -v c="$c" -v w="$(echo "$t1 - $t0" | bc)" -v u="$user" -v s="$sys" -v sv=$((s1 - s0)) -v id=$((i1 - i0)) \
      -v tk="$TICK" -v n="$CORES" -v b=$((MIB << 20)) \
    'BEGIN {printf "--connections %d: %.0f MB/s, wall %.2f s; client user %.2f s, sys %.2f s; server %.2f s; machine idle %.2f of %.2f core-s\n", c, b / w / 1e6, w, u, s, sv / tk, id / tk, n * w}'
done
