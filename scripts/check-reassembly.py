#!/usr/bin/env python3
"""Checks that per-rank tensors re-assemble, bit for bit, into the source checkpoint.

Independent of hubload's C++ code on purpose: it reads the safetensors files itself.
For each source tensor it finds the rank tensors of the same name, infers the split
dimension from their shapes (the one dimension that differs from the source; none
means replicated), concatenates along it, trims vocab padding, and compares bytes.
Handles the column/row/vocab/replicated splits of Llama-family models.
Exit status 1, with the tensor named, on the first difference.
"""
import json
import os
import struct
import sys

DTYPE_BYTES = {"BF16": 2, "F16": 2, "F32": 4, "F64": 8, "I64": 8, "I32": 4, "U8": 1, "I8": 1, "BOOL": 1}


def read_header(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
    header.pop("__metadata__", None)
    return 8 + n, header


def tensors_of(files):
    out = {}
    for path in files:
        base, header = read_header(path)
        for name, t in header.items():
            out[name] = (path, base + t["data_offsets"][0], t["data_offsets"][1] - t["data_offsets"][0],
                         t["shape"], t["dtype"])
    return out


def read_bytes(entry):
    path, offset, size, _, _ = entry
    with open(path, "rb") as f:
        f.seek(offset)
        return f.read(size)


def rows_of(data, shape, dim, esize):
    """Splits row-major data into (outer, run) chunks along dim."""
    outer = 1
    for d in shape[:dim]:
        outer *= d
    run = esize
    for d in shape[dim:]:
        run *= d
    return [data[i * run:(i + 1) * run] for i in range(outer)], run


def reassemble(src_shape, parts, esize):
    shapes = [p[0] for p in parts]
    diff = [i for i in range(len(src_shape)) if any(s[i] != src_shape[i] for s in shapes)]
    if not diff:
        return None, parts[0][1]  # replicated: every rank must equal the source
    dim = diff[0]
    chunks = [rows_of(data, shape, dim, esize) for shape, data in parts]
    outer = len(chunks[0][0])
    out = bytearray()
    full_run = esize
    for d in src_shape[dim:]:
        full_run *= d
    for i in range(outer):
        row = b"".join(c[0][i] for c in chunks)
        out += row[:full_run]  # trims padding rows added to reach a multiple of W
    return dim, bytes(out)


def main():
    if len(sys.argv) < 3:
        print("usage: check-reassembly.py SOURCE_DIR RANK_FILE...", file=sys.stderr)
        return 2
    src_dir = sys.argv[1]
    src_files = sorted(os.path.join(src_dir, f) for f in os.listdir(src_dir) if f.endswith(".safetensors"))
    source = tensors_of(src_files)
    ranks = [tensors_of([p]) for p in sys.argv[2:]]
    checked = split = 0
    for name, entry in source.items():
        parts = []
        for r, tensors in enumerate(ranks):
            if name not in tensors:
                print(f"check-reassembly: tensor {name} missing from rank {r} ({sys.argv[2 + r]})")
                return 1
            parts.append((tensors[name][3], read_bytes(tensors[name])))
        want = read_bytes(entry)
        dim, got = reassemble(entry[3], parts, DTYPE_BYTES[entry[4]])
        if dim is None:
            bad = [r for r, (_, data) in enumerate(parts) if data != want]
            if bad:
                print(f"check-reassembly: replicated tensor {name} differs on rank(s) {bad}")
                return 1
        elif got != want:
            print(f"check-reassembly: tensor {name} split on dim {dim} does not re-assemble")
            return 1
        else:
            split += 1
        checked += 1
    print(json.dumps({"tensors_checked": checked, "split": split, "replicated": checked - split,
                      "ranks": len(ranks), "ok": True}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
