#!/usr/bin/env bash
# `mpirun -np N hubload load MODEL --tp TP`: every rank reading its own runs
# against `--scatter` (one reader per node into shared memory), and, with
# NODES > 1, `--scatter` where only node 0 holds the files and the other nodes'
# ranks get their runs by message. The nodes are simulated (HUBLOAD_NODE_ID =
# rank / (RANKS / NODES)); files in the page cache (read once before).
#   bench/mpi-load-bench.sh [BUILD_DIR] [RANKS] [RUNS] [TP] [NODES]
# Defaults: build 4 3 RANKS 1 (TP < RANKS: RANKS / TP replicas). The model is scripts/gen-model.py's demo preset (about
# 220 MB of bf16 in two shards). Prints, per mode, the median wall time of the whole job (mpirun's start
# included), the median of the slowest rank's load time (the library call), the ranks' bytes over that
# time, and the bytes the ranks read from the files. Deletes its data at the end.
set -euo pipefail
BUILD=${1:-build}; RANKS=${2:-4}; RUNS=${3:-3}; TP=${4:-$RANKS}; NODES=${5:-1}
HUBLOAD=$(realpath "$BUILD/bin/hubload")
HERE=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d /tmp/hubload-mpi-load-bench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
python3 "$HERE/scripts/gen-model.py" "$WORK/model" --preset demo > /dev/null
ln -s "$WORK/model" "$WORK/node0-model"  # the only node that has it, in the remote mode
cat "$WORK"/model/*.safetensors > /dev/null
MODEL_BYTES=$(cat "$WORK"/model/*.safetensors | wc -c)
PER_NODE=$((RANKS / NODES))
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl_vader_single_copy_mechanism=none
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# Over the ranks' --json: "<sum of bytes_read> <sum of bytes_out> <slowest rank's seconds>".
sums() { cat "$WORK"/json* | python3 -c 'import json,sys
text = sys.stdin.read(); dec = json.JSONDecoder(); i = 0; read = out = 0; slowest = 0
while i < len(text):
    while i < len(text) and text[i].isspace(): i += 1
    if i >= len(text): break
    doc, i = dec.raw_decode(text, i); read += doc["bytes_read"]; out += doc["bytes_out"]; slowest = max(slowest, doc["seconds"])
print(read, out, slowest)'; }
echo "model: $MODEL_BYTES bytes of safetensors; $RANKS ranks (TP $TP) on $NODES node(s); $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| mode | wall of the job (s, median of $RUNS) | slowest rank's load (s, median) | rank bytes / slowest load (GB/s) | bytes read by all ranks / model |"
echo "|---|---|---|---|---|"
modes=("reads" "scatter")
if [ "$NODES" -gt 1 ]; then modes+=("remote"); fi
for mode in "${modes[@]}"; do
  case $mode in
    reads) model='$WORK/model'; flags=""; label="each rank reads its runs" ;;
    scatter) model='$WORK/model'; flags="--scatter"; label="\`--scatter\`, every node has the files" ;;
    remote) model='$WORK/node$n-model'; flags="--scatter"; label="\`--scatter\`, only node 0 has the files" ;;
  esac
  times=(); loads=()
  for _ in $(seq "$RUNS"); do
    rm -f "$WORK"/json*
    t0=$(date +%s.%N)
    mpirun --oversubscribe -np "$RANKS" --mca btl self,vader,tcp --mca btl_tcp_if_include lo \
      --mca oob_tcp_if_include lo sh -c "n=\$((OMPI_COMM_WORLD_RANK / $PER_NODE)); WORK=$WORK; \
      HUBLOAD_NODE_ID=\$n exec $HUBLOAD load $model --tp $TP $flags --json > $WORK/json\$OMPI_COMM_WORLD_RANK"
    t1=$(date +%s.%N)
    times+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')")
    read -r read_bytes out_bytes slowest < <(sums)
    loads+=("$slowest")
  done
  load_s=$(printf '%s\n' "${loads[@]}" | median)
  printf '| %s | %.2f | %.3f | %.2f | %.2f |\n' "$label" "$(printf '%s\n' "${times[@]}" | median)" "$load_s" \
    "$(awk -v b="$out_bytes" -v s="$load_s" 'BEGIN {print b / s / 1e9}')" \
    "$(awk -v r="$read_bytes" -v m="$MODEL_BYTES" 'BEGIN {print r / m}')"
done
