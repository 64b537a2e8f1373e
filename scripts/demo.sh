#!/usr/bin/env bash
# hubload end to end, on one machine, with no internet:
#
#   1. generate a random Llama-family model (config.json, two bf16 shards, index);
#   2. serve it with `hubload serve` as the Hub repo demo/llama-tiny, large files
#      answered by a 302 to a second "CDN" listener, as huggingface.co does;
#   3. download it into a fresh Hub cache, check the config for tensor parallelism,
#      plan TP=2 from the remote headers alone, load both ranks into rank files;
#   4. prove independently (scripts/check-reassembly.py, plain Python) that the two
#      rank files re-assemble bit for bit into the original weights.
#
# Usage: bash scripts/demo.sh PATH/TO/hubload      (make demo does this)
#   DEMO_PRESET=small  a 7 MB model instead of the default 220 MB one (for tests)
# Exit status 0 when every step passed; otherwise non-zero, naming the failed step.
set -euo pipefail

HUBLOAD=$(realpath "${1:?usage: demo.sh PATH/TO/hubload}")
PRESET=${DEMO_PRESET:-demo}
REPO=demo/llama-tiny
SCRIPTS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/hubload-demo.XXXXXX")
SERVER_PID=""
STEP="start"

# Whatever happens (success, a failed step, Ctrl-C): stop the server, delete the
# temporary data, and say which step failed.
cleanup() {
  local status=$?
  if [[ -n "$SERVER_PID" ]]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
  if [[ $status -ne 0 ]]; then
    echo "demo: FAILED at step '$STEP' (exit status $status)" >&2
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step() {
  STEP="$1"
  printf '\n== %s\n' "$1"
}

# Reads one value out of a JSON document on stdin: json_get '["a"][0]'.
json_get() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

now() { date +%s.%N; }

step "1. generate a random Llama model (preset '$PRESET')"
python3 "$SCRIPTS/gen-model.py" "$WORK/source" --preset "$PRESET"
MODEL_BYTES=$(du -cb "$WORK"/source/*.safetensors | tail -1 | cut -f1)
# The cache and the two rank files take about twice the model again: say so
# up front rather than fail half-way through a download with ENOSPC.
NEED=$((2 * MODEL_BYTES + 64 * 1024 * 1024))
FREE=$(($(df -Pk "$WORK" | awk 'NR == 2 { print $4 }') * 1024))
if ((FREE < NEED)); then
  echo "demo: $WORK has $((FREE / 1048576)) MiB free; the demo needs $((NEED / 1048576)) MiB more" \
       "(set TMPDIR to a roomier folder)" >&2
  exit 1
fi

step "2. serve it as $REPO on 127.0.0.1, large files through a CDN redirect"
# Port 0 picks a free port; the server writes it to a file once it listens.
"$HUBLOAD" serve --repo "$REPO=$WORK/source" --cdn --lfs-threshold 1048576 \
  --port-file "$WORK/port" >"$WORK/serve.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 100); do
  [[ -s "$WORK/port" ]] && break
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/serve.log" >&2; exit 1; }
  sleep 0.1
done
[[ -s "$WORK/port" ]] || { echo "demo: the server did not start within 10 s" >&2; exit 1; }
ENDPOINT="http://127.0.0.1:$(cat "$WORK/port")"
# Wait until it answers the Hub's repo-info API, not just until it is bound.
python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=10).read()' \
  "$ENDPOINT/api/models/$REPO"
echo "serving $REPO at $ENDPOINT"

# Every later command talks to that server and a cache of our own, never to huggingface.co.
export HF_ENDPOINT="$ENDPOINT" HF_HUB_CACHE="$WORK/cache" HF_HUB_DISABLE_TELEMETRY=1
unset HF_TOKEN HUGGING_FACE_HUB_TOKEN HF_HUB_OFFLINE

step "3. download into a fresh Hub cache (the layout Python's huggingface_hub uses)"
# --progress tty redraws one line per file on stderr; the snapshot path is the last line on stdout.
T0=$(now)
SNAPSHOT=$("$HUBLOAD" download "$REPO" --no-token --progress tty | tail -n 1)
T1=$(now)
# The snapshot holds relative links into blobs/, exactly as huggingface_hub lays them out.
for f in "$SNAPSHOT"/*; do echo "  $(basename "$f") -> $(readlink "$f")"; done

step "4. read config.json and check that tensor parallelism 2 is possible"
"$HUBLOAD" config "$SNAPSHOT" --tp 2

step "5. plan TP=2 from the remote safetensors headers only (HTTP Range, no weights)"
"$HUBLOAD" plan "$REPO" --tp 2 --remote --no-token --cache-dir "$WORK/remote-cache" >"$WORK/plan.txt"
grep -E "^(rank [0-9]+:|checkpoint:|note:)" "$WORK/plan.txt"
"$HUBLOAD" plan "$REPO" --tp 2 --remote --no-token --cache-dir "$WORK/remote-cache" --json >"$WORK/plan.json"
if find "$WORK/remote-cache" -path '*/blobs/*' -size +1M | grep -q .; then
  echo "demo: planning from headers downloaded weights" >&2
  exit 1
fi

step "6. load rank 0 and rank 1, each reading only its own bytes, into rank files"
for RANK in 0 1; do
  "$HUBLOAD" load "$SNAPSHOT" --tp 2 --rank "$RANK" --out "$WORK/rank$RANK.safetensors" --json \
    >"$WORK/load$RANK.json"
  echo "rank $RANK: $(json_get '["tensors"].__len__()' <"$WORK/load$RANK.json") tensors," \
    "$(json_get '["bytes_out"]' <"$WORK/load$RANK.json") bytes -> rank$RANK.safetensors"
done

step "7. independent check: the rank files re-assemble bit for bit into the source"
python3 "$SCRIPTS/check-reassembly.py" "$WORK/source" "$WORK/rank0.safetensors" "$WORK/rank1.safetensors"

STEP="summary"
python3 - "$MODEL_BYTES" "$T0" "$T1" "$WORK/plan.json" "$WORK/load0.json" "$WORK/load1.json" <<'PY'
import json, sys
model_bytes, t0, t1 = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
plan = json.load(open(sys.argv[4]))
loads = [json.load(open(p)) for p in sys.argv[5:]]
mib = 1024 * 1024
secs = max(t1 - t0, 1e-9)
print("\n== summary")
print(f"downloaded  {model_bytes / mib:.1f} MiB of weights in {secs:.2f} s ({model_bytes / mib / secs:.0f} MiB/s)")
strategies = {}
for t in plan["tensors"]:
    strategies[t["strategy"]] = strategies.get(t["strategy"], 0) + 1
print(f"plan        tp {plan['world_size']}, {len(plan['tensors'])} tensors: "
      + ", ".join(f"{n} {s}" for s, n in sorted(strategies.items())))
for r, (planned, load) in enumerate(zip(plan["rank_bytes"], loads)):
    print(f"rank {r}      planned {planned / mib:.1f} MiB, loaded {load['bytes_out'] / mib:.1f} MiB "
          f"({load['bytes_read'] / mib:.1f} MiB read from disk)")
print("check       both ranks re-assemble bit for bit into the source: OK")
PY
