#!/usr/bin/env bash
# Runs every benchmark in bench/ against the build folder BUILD (default build/),
# with the commands bench/RESULTS.md records. Long: the transfer benchmark moves
# several GiB over loopback and the load benchmark writes a 4 GiB checkpoint.
set -euo pipefail
build=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
echo "== safetensors: open 200 shards x 300 tensors"
"$build/bench/safetensors_open_bench" --benchmark_min_time=2
echo "== tensor-parallel rank loading (4 GiB bf16 checkpoint)"
"$build/bench/load_bench" --dir "${TMPDIR:-/tmp}/hubload-tp-bench" --threads 2
echo "== transfers against curl and aria2c (3 runs, 2 GiB single file, 4 x 512 MiB)"
bash "$here/transfer-bench.sh" "$build" 3 2048 512 4
