#!/usr/bin/env bash
# `hubload inspect` and `hubload plan --tp 8` (table and --json) on a generated
# header-only checkpoint (gen_header_only: real headers, holes for data), with
# wall time and peak RSS from /usr/bin/time -v. Output goes to /dev/null, so the
# figures are the library's work plus formatting, not the terminal's.
#   bench/header-only-bench.sh [BUILD_DIR] [LAYOUT] [SHARDS] [RUNS]   (default: build mixtral-140k 64 3)
# BUILD_DIR needs bin/hubload and bench/gen_header_only (-DHUBLOAD_BUILD_BENCH=ON).
set -euo pipefail
BUILD=${1:-build}; LAYOUT=${2:-mixtral-140k}; SHARDS=${3:-64}; RUNS=${4:-3}
HUBLOAD=$(realpath "$BUILD/bin/hubload")
WORK=$(mktemp -d /tmp/hubload-header-only.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
t0=$(date +%s.%N)
"$BUILD/bench/gen_header_only" "$LAYOUT" "$WORK/model" --shards "$SHARDS"
t1=$(date +%s.%N)
echo "generated in $(echo "$t1 - $t0" | bc) s; apparent size $(du -sh --apparent-size "$WORK/model" | cut -f1), on disk $(du -sh "$WORK/model" | cut -f1)"
run() {  # label, then the command
  local label=$1; shift
  local walls=() rss=0
  for _ in $(seq "$RUNS"); do
    /usr/bin/time -v -o "$WORK/time" "$@" > /dev/null
    walls+=("$(awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, t, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i]; print s}' "$WORK/time")")
    local r; r=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$WORK/time")
    (( r > rss )) && rss=$r
  done
  local sorted; sorted=$(printf '%s\n' "${walls[@]}" | sort -n)
  local median; median=$(echo "$sorted" | sed -n "$(( (RUNS + 1) / 2 ))p")
  printf '| %s | %s s | [%s] | %d MiB |\n' "$label" "$median" "$(echo "$sorted" | paste -sd' ')" $(( rss / 1024 ))
}
echo "| command | median wall | runs | peak RSS |"
echo "|---|---|---|---|"
run "inspect" "$HUBLOAD" inspect "$WORK/model"
run "inspect --json" "$HUBLOAD" inspect --json "$WORK/model"
run "plan --tp 8" "$HUBLOAD" plan "$WORK/model" --tp 8
run "plan --tp 8 --json" "$HUBLOAD" plan "$WORK/model" --tp 8 --json
