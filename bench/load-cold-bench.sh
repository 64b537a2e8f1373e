#!/usr/bin/env bash
# Cold loads: `hubload load` of a whole checkpoint (W = 1) with O_DIRECT
# (--direct on) and through the page cache (--direct off), against the file's
# sequential read with `dd iflag=direct bs=16M`, the page cache dropped
# (echo 1 > /proc/sys/vm/drop_caches, root only) before every run. Runs alternate;
# prints each run and the medians, with the load average (the machine may be shared).
#
#   bench/load-cold-bench.sh [BUILD] [DIR] [RUNS]
# DIR holds config.json and model.safetensors (build/bench/load_bench --keep writes one).
set -euo pipefail
build=${1:-build}
dir=${2:-/tmp/hubload-tp-bench}
runs=${3:-3}
file=$dir/model.safetensors
hubload=$build/bin/hubload
[ -x "$hubload" ] || hubload=$build/hubload

drop() {
  sync
  if ! echo 1 > /proc/sys/vm/drop_caches 2>/dev/null; then
    echo "cannot drop the page cache here (echo 1 > /proc/sys/vm/drop_caches refused): cold figures impossible" >&2
    exit 1
  fi
}
loadavg() { cut -d' ' -f1 /proc/loadavg; }
median() { sort -g | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
rate_of_load() {  # GB/s of the load itself (bytes read / the loader's seconds), from --json
  "$hubload" load "$dir" --tp 1 --rank 0 --json --quiet --threads 4 "$@" |
    python3 -c 'import json, sys; d = json.load(sys.stdin); print("%.3f %d/%d" % (d["gb_per_s"], d["direct_reads"], d["read_calls"]))'
}

size=$(stat -c %s "$file")
echo "file $file, $size bytes, on $(df --output=source,fstype "$dir" | tail -1)"
declare -a dd_r on_r off_r
for i in $(seq "$runs"); do
  drop
  s=$(dd if="$file" of=/dev/null iflag=direct bs=16M 2>&1 | tail -1 | awk -F', ' '{print $(NF-1)}' | cut -d' ' -f1)
  dd_r+=("$(python3 -c "print(f'{$size / $s / 1e9:.3f}')")")
  echo "run $i: dd iflag=direct bs=16M ${dd_r[-1]} GB/s (load avg $(loadavg))"
  drop
  read -r rate reads < <(rate_of_load --direct on)
  on_r+=("$rate")
  echo "run $i: hubload load --direct on $rate GB/s, direct reads $reads (load avg $(loadavg))"
  drop
  read -r rate reads < <(rate_of_load --direct off)
  off_r+=("$rate")
  echo "run $i: hubload load --direct off $rate GB/s (load avg $(loadavg))"
done
dd_m=$(printf '%s\n' "${dd_r[@]}" | median)
on_m=$(printf '%s\n' "${on_r[@]}" | median)
off_m=$(printf '%s\n' "${off_r[@]}" | median)
echo "medians of $runs: dd $dd_m GB/s, --direct on $on_m GB/s ($(python3 -c "print(f'{$on_m / $dd_m:.2f}')") x dd), --direct off $off_m GB/s ($(python3 -c "print(f'{$off_m / $dd_m:.2f}')") x dd)"
