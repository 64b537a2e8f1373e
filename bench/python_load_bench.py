#!/usr/bin/env python3
"""hubload.load_rank(framework="pt") against the C++ RankLoader and a plain-Python
baseline, on a Llama-shaped bf16 checkpoint of about 2 GiB, at W = 1, 2 and 4.

For each W, rank 0 is loaded `--repeats` times by each method, after one untimed
round of all three, warm page cache (one untimed read of every shard first), and
the median is reported (the order of the methods rotates from one repeat to the next):
  python    hubload.load_rank(plan, rank=0, framework="pt"): wall time of the call
            (the plan is made once, outside, as a program that loads many ranks would),
            and in parentheses the loader's own time inside that call
  cpp       `hubload load MODEL --tp W --rank 0 --json`: the RankLoader's own
            `seconds` (the same load, timed inside load())
  memmap    numpy.memmap of each shard, the plan's slices cut with NumPy slicing,
            np.array (the read: a copy, as into
            a model's own memory), torch.from_numpy(...).view(bfloat16)
Same I/O threads for hubload in both languages (--threads, default 4).

Run with Debian's interpreter (numpy, torch) and the package on the path:
  PYTHONPATH=build/python /usr/bin/python3 bench/python_load_bench.py --hubload build/bin/hubload
The checkpoint is generated under --dir (scripts/gen-model.py --preset bench-2g)
and deleted afterwards unless --keep.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

import hubload

ROOT = Path(__file__).resolve().parents[1]


def warm(folder: Path) -> None:
    for shard in folder.glob("*.safetensors"):
        with open(shard, "rb") as f:
            while f.read(64 << 20):
                pass


def python_load(plan, threads: int):
    """(wall time of the call, the loader's own time inside it)"""
    start = time.perf_counter()
    tensors = hubload.load_rank(plan, rank=0, framework="pt", threads=threads)
    seconds = time.perf_counter() - start
    assert tensors["model.norm.weight"].dtype == torch.bfloat16
    inside = tensors.stats["seconds"]
    del tensors
    return seconds, inside


def cpp_load(cli: str, folder: Path, world: int, threads: int) -> float:
    out = subprocess.run([cli, "load", str(folder), "--tp", str(world), "--rank", "0", "--threads", str(threads),
                          "--json"], check=True, capture_output=True, text=True).stdout
    return json.loads(out)["seconds"]


def memmap_load(folder: Path, described: dict) -> float:
    start = time.perf_counter()
    maps, out = {}, {}
    for t in described["tensors"]:
        entry = t["ranks"][0]
        if not entry["present"] or t["strategy"] == "skip":
            continue
        shard = folder / t["file"]
        if t["file"] not in maps:
            with open(shard, "rb") as f:
                n = int.from_bytes(f.read(8), "little")
                header = json.loads(f.read(n))
            maps[t["file"]] = (np.memmap(shard, dtype=np.uint8, mode="r"), header, 8 + n)
        mm, header, base = maps[t["file"]]
        begin, end = header[t["name"]]["data_offsets"]
        full = mm[base + begin:base + end].view(np.int16).reshape(t["shape"])
        if "dim" in entry:
            index = [slice(None)] * len(t["shape"])
            parts = []
            for lo, hi in entry["ranges"]:
                index[entry["dim"]] = slice(lo, hi)
                parts.append(full[tuple(index)])
            array = np.array(parts[0]) if len(parts) == 1 else np.concatenate(parts, axis=entry["dim"])
        else:
            array = np.array(full)  # a copy: the bytes are read here, as into a model's own memory
        out[t["name"]] = torch.from_numpy(array).view(torch.bfloat16)
    seconds = time.perf_counter() - start
    del out, maps
    return seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hubload", default=str(ROOT / "build" / "bin" / "hubload"), help="the hubload CLI")
    ap.add_argument("--dir", default=os.path.join(os.environ.get("TMPDIR", "/tmp"), "hubload-python-bench"))
    ap.add_argument("--tp", type=int, nargs="+", default=[1, 2, 4])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--keep", action="store_true", help="keep the generated checkpoint")
    args = ap.parse_args()

    folder = Path(args.dir) / "model"
    if not (folder / "config.json").exists():
        subprocess.run([sys.executable, str(ROOT / "scripts" / "gen-model.py"), str(folder), "--preset", "bench-2g"],
                       check=True, stdout=subprocess.DEVNULL)
    try:
        size = sum(p.stat().st_size for p in folder.glob("*.safetensors"))
        print(f"checkpoint: {size / 2**30:.2f} GiB in {folder}; load average {os.getloadavg()[0]:.2f}; "
              f"{os.cpu_count()} CPUs; torch {torch.__version__}; rank 0; {args.threads} I/O threads; "
              f"median of {args.repeats}")
        # speed columns: time of the other over time of python (1.00 = as fast; >1: python is faster).
        print(f"{'W':>2} {'rank GiB':>9} {'python s':>9} {'(loader s)':>10} {'cpp s':>7} {'memmap s':>9} {'python speed/cpp':>17} "
              f"{'python speed/memmap':>20}")
        warm(folder)
        for world in args.tp:
            plan = hubload.plan(folder, tp=world)
            described = plan.to_dict()
            # One untimed round first: the first 2 GiB arena of a process (or right after
            # another program freed as much) pays for page faults and huge-page compaction.
            python_load(plan, args.threads)
            cpp_load(args.hubload, folder, world, args.threads)
            memmap_load(folder, described)
            py_t, inside_t, cpp_t, mm_t = [], [], [], []

            def run_python():
                wall, inside = python_load(plan, args.threads)
                py_t.append(wall)
                inside_t.append(inside)

            methods = [run_python, lambda: cpp_t.append(cpp_load(args.hubload, folder, world, args.threads)),
                       lambda: mm_t.append(memmap_load(folder, described))]
            # The order rotates: a load right after another freed 2 GiB of small pages
            # waits for huge-page compaction, so no method may always come after the same one.
            for i in range(args.repeats):
                for method in methods[i % 3:] + methods[:i % 3]:
                    method()
            py, inside, cpp, mm = (statistics.median(x) for x in (py_t, inside_t, cpp_t, mm_t))
            print(f"{world:>2} {plan.rank_bytes[0] / 2**30:>9.2f} {py:>9.3f} {inside:>10.3f} {cpp:>7.3f} {mm:>9.3f} "
                  f"{cpp / py:>17.2f} {mm / py:>20.2f}")
        print(f"load average after: {os.getloadavg()[0]:.2f}")
    finally:
        if not args.keep:
            shutil.rmtree(args.dir, ignore_errors=True)


if __name__ == "__main__":
    main()
