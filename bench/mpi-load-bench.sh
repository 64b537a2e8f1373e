#!/usr/bin/env bash
# `mpirun -np N hubload load MODEL --tp N`: every rank reading its own runs
# against `--scatter` (one reader per node into shared memory), one simulated
# node of N ranks, files in the page cache (read once before).
#   bench/mpi-load-bench.sh [BUILD_DIR] [RANKS] [RUNS] [TP]
# Defaults: build 4 3 RANKS (TP < RANKS: RANKS / TP replicas). The model is scripts/gen-model.py's demo preset (about
# 220 MB of bf16 in two shards). Prints the median wall time of the whole job
# per mode and the bytes the ranks read from the files. Deletes its data at the end.
set -euo pipefail
BUILD=${1:-build}; RANKS=${2:-4}; RUNS=${3:-3}; TP=${4:-$RANKS}
HUBLOAD=$(realpath "$BUILD/bin/hubload")
HERE=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d /tmp/hubload-mpi-load-bench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
python3 "$HERE/scripts/gen-model.py" "$WORK/model" --preset demo > /dev/null
cat "$WORK"/model/*.safetensors > /dev/null
MODEL_BYTES=$(cat "$WORK"/model/*.safetensors | wc -c)
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl_vader_single_copy_mechanism=none
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "model: $MODEL_BYTES bytes of safetensors; $RANKS ranks (TP $TP) on one node; $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| mode | wall (s, median of $RUNS) | bytes read by all ranks / model |"
echo "|---|---|---|"
for mode in "" "--scatter"; do
  times=()
  for _ in $(seq "$RUNS"); do
    t0=$(date +%s.%N)
    mpirun --oversubscribe -np "$RANKS" --mca btl self,vader,tcp --mca btl_tcp_if_include lo \
      --mca oob_tcp_if_include lo sh -c "HUBLOAD_NODE_ID=0 exec $HUBLOAD load $WORK/model --tp $TP $mode --json \
      > $WORK/json\$OMPI_COMM_WORLD_RANK"
    t1=$(date +%s.%N)
    times+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')")
  done
  read_bytes=$(cat "$WORK"/json* | python3 -c 'import json,sys
text = sys.stdin.read(); dec = json.JSONDecoder(); i = 0; total = 0
while i < len(text):
    while i < len(text) and text[i].isspace(): i += 1
    if i >= len(text): break
    doc, i = dec.raw_decode(text, i); total += doc["bytes_read"]
print(total)')
  printf '| %s | %.2f | %.2f |\n' "${mode:-each rank reads its runs}" "$(printf '%s\n' "${times[@]}" | median)" \
    "$(awk -v r="$read_bytes" -v m="$MODEL_BYTES" 'BEGIN {print r / m}')"
done
