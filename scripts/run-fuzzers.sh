#!/usr/bin/env bash
# Runs every libFuzzer target in DIR for SECONDS each, from its seed corpus in
# fuzz/corpus/<target>/ when there is one. Fails on the first crash.
set -euo pipefail
dir=$1
seconds=${2:-60}
src=$(cd "$(dirname "$0")/.." && pwd)
shopt -s nullglob
targets=("$dir"/*_fuzz)
if ((${#targets[@]} == 0)); then echo "run-fuzzers: no fuzz targets in $dir" >&2; exit 1; fi
for t in "${targets[@]}"; do
  name=$(basename "$t")
  work=$(mktemp -d)
  seeds=()
  [[ -d "$src/fuzz/corpus/$name" ]] && seeds=("$src/fuzz/corpus/$name")
  echo "run-fuzzers: $name for ${seconds}s"
  "$t" -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=2048 -print_final_stats=1 \
       -artifact_prefix="$work/" "$work" "${seeds[@]}" 2>&1 | tail -n 15
  rm -rf "$work"
done
