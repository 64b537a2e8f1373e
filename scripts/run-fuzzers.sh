#!/usr/bin/env bash
# Runs every libFuzzer target in DIR from its seed corpus in fuzz/corpus/<target>/.
# Fails on the first crash, leak or sanitizer report, leaving the input in
# fuzz-artifacts/.
#
#   run-fuzzers.sh DIR [SECONDS]    each target for SECONDS (default 60)
#   FUZZ_RUNS=N run-fuzzers.sh DIR  each target for N executions instead
#   FUZZ_JOBS=J                     J fuzzing processes per target (default 1)
#   FUZZ_SAVE=1                     merge what the run found into fuzz/corpus/<target>/
#                                   (libFuzzer -merge=1: only inputs that add coverage)
#   FUZZ_ONLY=name                  just that target
set -euo pipefail
dir=$(cd "$1" && pwd)  # absolute: the -fork runs start in a temp dir
seconds=${2:-60}
src=$(cd "$(dirname "$0")/.." && pwd)
artifacts="$src/fuzz-artifacts"
mkdir -p "$artifacts"
shopt -s nullglob
targets=("$dir"/*_fuzz)
if ((${#targets[@]} == 0)); then echo "run-fuzzers: no fuzz targets in $dir" >&2; exit 1; fi
limit=(-max_total_time="$seconds")
[[ -n "${FUZZ_RUNS:-}" ]] && limit=(-runs="$FUZZ_RUNS")
jobs=${FUZZ_JOBS:-1}
for t in "${targets[@]}"; do
  name=$(basename "$t")
  [[ -n "${FUZZ_ONLY:-}" && "$name" != "$FUZZ_ONLY" ]] && continue
  work=$(mktemp -d)
  seeds=()
  [[ -d "$src/fuzz/corpus/$name" ]] && seeds=("$src/fuzz/corpus/$name")
  echo "run-fuzzers: $name (${limit[*]}, $jobs job(s))"
  start=$(date +%s)
  args=("${limit[@]}" -max_len=65536 -rss_limit_mb=2048 -timeout=30 -print_final_stats=1
        -artifact_prefix="$artifacts/$name-" "$work" "${seeds[@]}")
  if ((jobs > 1)); then
    # -runs applies per worker; split the executions between them.
    [[ -n "${FUZZ_RUNS:-}" ]] && args[0]=-runs=$((FUZZ_RUNS / jobs))
    (cd "$work" && "$t" -fork="$jobs" -ignore_crashes=0 "${args[@]}" 2>&1 | tail -n 20)
  else
    "$t" "${args[@]}" 2>&1 | tail -n 15
  fi
  echo "run-fuzzers: $name done in $(( $(date +%s) - start )) s"
  if [[ "${FUZZ_SAVE:-0}" == 1 ]]; then
    mkdir -p "$src/fuzz/corpus/$name"
    "$t" -merge=1 "$src/fuzz/corpus/$name" "$work" 2>&1 | grep -E "MERGE-OUTER: [0-9]+ new files" || true
  fi
  rm -rf "$work"
done
