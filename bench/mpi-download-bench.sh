#!/usr/bin/env bash
# One Hub download per cluster against one per node, with the origin's total
# rate (`serve --max-rate-total`) as the bottleneck, as a cluster's shared way
# out to the Hub is.
#   bench/mpi-download-bench.sh [BUILD_DIR] [TOTAL_MIB] [SHARDS] [RATE] [NODES...]
# Defaults: build 512 8 32m 1 2 4. Writes a model of SHARDS random shards
# (TOTAL_MIB in all) plus config.json and the index, serves it on 127.0.0.1 with
# the total rate, then for each N in NODES: `mpirun -np N` with HUBLOAD_NODE_ID
# making N simulated nodes of one rank, each with its own cache; and N
# independent `hubload download`s started together, each with its own cache.
# Prints per row the wall time and the Hub bytes (served body bytes / model
# size). Needs the CLI built with -DHUBLOAD_MPI=ON. Deletes its data at the end.
set -euo pipefail
BUILD=${1:-build}; TOTAL=${2:-512}; SHARDS=${3:-8}; RATE=${4:-32m}
shift $(( $# < 4 ? $# : 4 ))
NODES=("$@"); [[ ${#NODES[@]} -gt 0 ]] || NODES=(1 2 4)
HUBLOAD=$(realpath "$BUILD/bin/hubload")
WORK=$(mktemp -d /tmp/hubload-mpi-bench.XXXXXX)
SERVER=""
cleanup() { [[ -n "$SERVER" ]] && kill "$SERVER" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

mkdir -p "$WORK/model"
printf '{"model_type": "llama"}' > "$WORK/model/config.json"
map=""
for i in $(seq 1 "$SHARDS"); do
  name=$(printf 'model-%05d-of-%05d.safetensors' "$i" "$SHARDS")
  head -c $(((TOTAL << 20) / SHARDS)) /dev/urandom > "$WORK/model/$name"
  map="$map${map:+, }\"w$i\": \"$name\""
done
printf '{"metadata": {}, "weight_map": {%s}}' "$map" > "$WORK/model/model.safetensors.index.json"
MODEL_BYTES=$(cat "$WORK"/model/* | wc -c)

# A worker per stream (--threads): N independent downloads open up to 16
# connections each, and with the default 16 workers the ones left waiting for a
# worker got no byte for the client's 10 s stall limit and gave up (session 7).
"$HUBLOAD" serve --repo bench/model="$WORK/model" --test-mode --max-rate-total "$RATE" \
  --threads "${SERVE_THREADS:-128}" --port-file "$WORK/port" > "$WORK/serve.log" 2>&1 &
SERVER=$!
for _ in $(seq 50); do [[ -s "$WORK/port" ]] && break; sleep 0.1; done
URL="http://127.0.0.1:$(cat "$WORK/port")"
served() { curl -s "$URL/_hubload/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["bytes_sent"])'; }
now() { date +%s.%N; }

export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl_vader_single_copy_mechanism=none
row() {  # mode nodes seconds bytes
  awk -v m="$1" -v n="$2" -v t="$3" -v b="$4" -v s="$MODEL_BYTES" \
    'BEGIN {printf "| %-22s | %5d | %8.1f | %6.2f |\n", m, n, t, b / s}'
}
echo "model: $SHARDS shards, $MODEL_BYTES bytes; origin total rate $RATE/s; $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| mode                   | nodes | wall (s) | Hub bytes / model |"
echo "|---|---|---|---|"
for n in "${NODES[@]}"; do
  rm -rf "$WORK"/node*
  before=$(served); t0=$(now)
  timeout 900 mpirun --oversubscribe -np "$n" --mca btl self,vader,tcp --mca btl_tcp_if_include lo \
    --mca oob_tcp_if_include lo sh -c "HUBLOAD_NODE_ID=\$OMPI_COMM_WORLD_RANK \
    HF_HUB_CACHE=$WORK/node\$OMPI_COMM_WORLD_RANK exec $HUBLOAD download bench/model --endpoint $URL --quiet" \
    > /dev/null
  t1=$(now); after=$(served)
  row "mpirun (one job)" "$n" "$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')" $((after - before))

  rm -rf "$WORK"/node*
  before=$(served); t0=$(now)
  pids=()
  for i in $(seq 1 "$n"); do
    HF_HUB_CACHE="$WORK/node$i" "$HUBLOAD" download bench/model --endpoint "$URL" --quiet > /dev/null &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p"; done
  t1=$(now); after=$(served)
  row "independent downloads" "$n" "$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')" $((after - before))
done
