#!/usr/bin/env python3
"""Checks that per-rank tensors re-assemble, bit for bit, into the source checkpoint.

Independent of hubload's C++ code on purpose: it reads the safetensors files itself.
For each source tensor it finds the rank tensors of the same name, infers the split
dimension from their shapes (the one dimension that differs from the source; none
means replicated), concatenates along it, trims vocab padding, and compares bytes.
Handles the column/row/vocab/replicated splits of Llama-family models, uneven splits
(gpt-oss's 32-element expert blocks), quantized companions (FP8 block scales, packed
weights, zero points: they split like their weight, in their own units), KV heads
replicated over runs of ranks (W > KV heads), tensors that
only rank 0 holds (gpt-oss down_proj_bias, --row-bias rank0), and tensors made of
sections that are split one by one: Llama-4's fused gate_up_proj (two halves of its
last dim) and Qwen3-Next's conv1d.weight (q, k, v sizes from SOURCE_DIR/config.json).
Exit status 1, with the tensor named, on the first difference.
"""
import json
import os
import struct
import sys

DTYPE_BYTES = {"BF16": 2, "F16": 2, "F32": 4, "F64": 8, "I64": 8, "I32": 4, "I16": 2, "U64": 8, "U32": 4, "U16": 2,
               "U8": 1, "I8": 1, "BOOL": 1, "F8_E4M3": 1, "F8_E5M2": 1, "F8_E8M0": 1}


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


def sections_of(name, src_shape, dim, config):
    """The sizes of the sections of `dim` that are split one by one, in order."""
    text = config.get("text_config", config)
    if name.endswith(".experts.gate_up_proj") and dim == len(src_shape) - 1 and "llama4" in str(text.get("model_type")):
        return [src_shape[dim] // 2] * 2  # Llama-4: [gate | up] on the last dim
    if name.endswith(".conv1d.weight") and "linear_num_key_heads" in text:
        kd = text["linear_num_key_heads"] * text["linear_key_head_dim"]
        vd = text["linear_num_value_heads"] * text["linear_value_head_dim"]
        return [kd, kd, vd]  # Qwen3-Next: [q; k; v]
    return [src_shape[dim]]


def reassemble(name, src_shape, parts, esize, config):
    shapes = [p[0] for p in parts]
    diff = [i for i in range(len(src_shape)) if any(s[i] != src_shape[i] for s in shapes)]
    if not diff:
        return None, parts[0][1]  # replicated: every rank must equal the source
    dim = diff[0]
    sections = sections_of(name, src_shape, dim, config)
    replicas = len(parts) * shapes[0][dim] // src_shape[dim]
    if replicas > 1 and len(parts) * shapes[0][dim] == replicas * src_shape[dim] and all(
            parts[r] == parts[r - r % replicas] for r in range(len(parts))):
        # More ranks than KV heads: each run of `replicas` ranks holds the same heads.
        parts = parts[::replicas]
        shapes = shapes[::replicas]
    world = len(parts)
    row_bytes = esize  # bytes of one index step along dim
    for d in src_shape[dim + 1:]:
        row_bytes *= d
    chunks = [rows_of(data, shape, dim, esize) for shape, data in parts]
    outer = len(chunks[0][0])
    out = bytearray()
    for i in range(outer):
        row = b""
        offsets = [0] * world
        for size in sections:
            piece = b""
            for r in range(world):
                # Each section splits evenly, except a lone section, where ranks may differ
                # (uneven block splits) and the last may be short.
                take = size // world if len(sections) > 1 else shapes[r][dim]
                piece += chunks[r][0][i][offsets[r] * row_bytes:(offsets[r] + take) * row_bytes]
                offsets[r] += take
            row += piece[:size * row_bytes]  # trims padding rows added to reach a multiple of W
        out += row
    return dim, bytes(out)


def main():
    if len(sys.argv) < 3:
        print("usage: check-reassembly.py SOURCE_DIR RANK_FILE...", file=sys.stderr)
        return 2
    src_dir = sys.argv[1]
    src_files = sorted(os.path.join(src_dir, f) for f in os.listdir(src_dir) if f.endswith(".safetensors"))
    source = tensors_of(src_files)
    config_path = os.path.join(src_dir, "config.json")
    config = json.load(open(config_path)) if os.path.exists(config_path) else {}
    ranks = [tensors_of([p]) for p in sys.argv[2:]]
    checked = split = rank0_only = 0
    for name, entry in source.items():
        held = [r for r, tensors in enumerate(ranks) if name in tensors]
        want = read_bytes(entry)
        if held == [0] and len(ranks) > 1:  # rank 0 alone holds it, whole
            if read_bytes(ranks[0][name]) != want:
                print(f"check-reassembly: rank-0-only tensor {name} differs on rank 0")
                return 1
            rank0_only += 1
            checked += 1
            continue
        if len(held) != len(ranks):
            r = min(set(range(len(ranks))) - set(held))
            print(f"check-reassembly: tensor {name} missing from rank {r} ({sys.argv[2 + r]})")
            return 1
        parts = [(tensors[name][3], read_bytes(tensors[name])) for tensors in ranks]
        dim, got = reassemble(name, entry[3], parts, DTYPE_BYTES[entry[4]], config)
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
    print(json.dumps({"tensors_checked": checked, "split": split, "replicated": checked - split - rank0_only,
                      "rank0_only": rank0_only, "ranks": len(ranks), "ok": True}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
