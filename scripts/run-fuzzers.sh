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
#   FUZZ_ONLY="a b"                 just those targets
set -euo pipefail
dir=$(cd "$1" && pwd)
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
# J independent processes per target (not -fork): each has its own seed and work
# folder and prints its own "Done N runs", so the executions add up exactly.
for t in "${targets[@]}"; do
  name=$(basename "$t")
  [[ -n "${FUZZ_ONLY:-}" && " $FUZZ_ONLY " != *" $name "* ]] && continue
  seeds=()
  [[ -d "$src/fuzz/corpus/$name" ]] && seeds=("$src/fuzz/corpus/$name")
  # fuzz/<target>.options: that target's own libFuzzer flags, after (and so
  # over) the defaults below; one per line, # comments.
  extra=()
  [[ -f "$src/fuzz/$name.options" ]] && mapfile -t extra < <(grep -v -E '^\s*(#|$)' "$src/fuzz/$name.options")
  echo "run-fuzzers: $name (${limit[*]}, $jobs job(s))"
  start=$(date +%s)
  works=() pids=() logs=()
  for ((j = 0; j < jobs; j++)); do
    work=$(mktemp -d) log=$(mktemp)
    job_limit=("${limit[@]}")
    [[ -n "${FUZZ_RUNS:-}" ]] && job_limit=(-runs=$((FUZZ_RUNS / jobs)))
    "$t" "${job_limit[@]}" -seed=$((start + j)) -max_len=65536 -rss_limit_mb=2048 -timeout=30 \
      -print_final_stats=1 -artifact_prefix="$artifacts/$name-" "${extra[@]}" "$work" "${seeds[@]}" >"$log" 2>&1 &
    works+=("$work") pids+=($!) logs+=("$log")
  done
  failed=0
  for ((j = 0; j < jobs; j++)); do
    wait "${pids[$j]}" || failed=1
    tail -n 15 "${logs[$j]}"
    grep -h -E "^Done [0-9]+ runs" "${logs[$j]}" | sed "s/^/run-fuzzers: $name job $j: /" || true
  done
  echo "run-fuzzers: $name done in $(( $(date +%s) - start )) s"
  if ((failed)); then
    echo "run-fuzzers: $name FAILED; the input is in $artifacts/" >&2
    exit 1
  fi
  if [[ "${FUZZ_SAVE:-0}" == 1 ]]; then
    mkdir -p "$src/fuzz/corpus/$name"
    "$t" -merge=1 "$src/fuzz/corpus/$name" "${works[@]}" 2>&1 | grep -E "MERGE-OUTER: [0-9]+ new files" || true
  fi
  rm -rf "${works[@]}" "${logs[@]}"
done
