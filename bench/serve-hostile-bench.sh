#!/usr/bin/env bash
# `hubload serve` under hostile clients (issue 18): CLIENTS clients each GET a
# FILE_MIB file at once (bench/serve_load_bench.cpp, one epoll thread), first
# alone ("clean"), then with IDLE idle and SLOWLORIS slowloris connections (a
# header byte every DRIP_S seconds) held open and reopened whenever the server
# closes them ("hostile"). Prints one JSON line per run: p50/p99/max time to
# first byte of the clients and their total throughput.
#   bench/serve-hostile-bench.sh [BUILD_DIR] [RUNS] [CLIENTS] [FILE_MIB] [IDLE] [SLOWLORIS] [DRIP_S]
# Defaults: build 1 500 64 200 30 5. All connections come from 127.0.0.1, so the
# per-client cap is raised past their sum (--max-connections-per-client 2000),
# and --threads 512 lets every client be answered at once. HUBLOAD=path runs
# another build (SERVE_FLAGS="" for one that predates the flag).
set -euo pipefail
BUILD=${1:-build}; RUNS=${2:-1}; CLIENTS=${3:-500}; FILE_MIB=${4:-64}
IDLE=${5:-200}; SLOWLORIS=${6:-30}; DRIP_S=${7:-5}
HUBLOAD=${HUBLOAD:-$(realpath "$BUILD/bin/hubload")}
SERVE_FLAGS=${SERVE_FLAGS---max-connections-per-client 2000}
WORK=$(mktemp -d /tmp/hubload-serve-hostile.XXXXXX)
trap 'kill $SERVER_PID 2>/dev/null || true; rm -rf "$WORK"' EXIT
LOADGEN=${LOADGEN:-$BUILD/bench/serve_load_bench}
if [ ! -x "$LOADGEN" ]; then  # a build without HUBLOAD_BUILD_BENCH: it needs nothing but the compiler
  g++ -O2 -std=c++20 -o "$WORK/serve_load_bench" "$(dirname "$0")/serve_load_bench.cpp"
  LOADGEN=$WORK/serve_load_bench
fi
mkdir -p "$WORK/repo"
head -c $((FILE_MIB << 20)) /dev/urandom > "$WORK/repo/model.bin"
ulimit -n "$(ulimit -Hn)"
# shellcheck disable=SC2086
"$HUBLOAD" serve --repo bench/big="$WORK/repo" --port-file "$WORK/port" --threads 512 $SERVE_FLAGS > /dev/null 2>&1 &
SERVER_PID=$!
for _ in $(seq 100); do [ -s "$WORK/port" ] && break; sleep 0.1; done
PORT=$(cat "$WORK/port")
TARGET=/bench/big/resolve/main/model.bin
curl -sfI -o /dev/null "http://127.0.0.1:$PORT$TARGET"  # the first request hashes the file for its ETag
echo "load: $(uptime)"
for run in $(seq 1 "$RUNS"); do
  echo "clean   $("$LOADGEN" "$PORT" "$TARGET" "$CLIENTS" 0 0)"
  echo "hostile $("$LOADGEN" "$PORT" "$TARGET" "$CLIENTS" "$IDLE" "$SLOWLORIS" "$DRIP_S" 6)"
done
