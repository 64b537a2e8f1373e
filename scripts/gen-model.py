#!/usr/bin/env python3
"""Generates a Llama-family model folder with random weights, for the demo and tests.

The config has real Llama proportions (grouped-query attention, SwiGLU MLP, untied
LM head), scaled down. The weights are random bf16 bytes in two safetensors shards
plus model.safetensors.index.json, exactly as transformers writes them. Standard
library only, so it runs on a fresh Debian machine.
"""
import argparse
import json
import os
import struct

PRESETS = {
    # name: (hidden, layers, heads, kv_heads, intermediate, vocab)
    "demo": (1024, 4, 16, 4, 2816, 32000),   # about 220 MB in bf16
    "small": (256, 2, 8, 2, 704, 4096),      # about 7 MB, for CI
    "bench-2g": (2048, 21, 16, 4, 5632, 32000),  # about 2.0 GiB, for bench/python_load_bench.py
}


def tensors_for(hidden, layers, heads, kv_heads, intermediate, vocab):
    head_dim = hidden // heads
    kv = kv_heads * head_dim
    out = [("model.embed_tokens.weight", [vocab, hidden])]
    for i in range(layers):
        p = f"model.layers.{i}."
        out += [
            (p + "input_layernorm.weight", [hidden]),
            (p + "self_attn.q_proj.weight", [hidden, hidden]),
            (p + "self_attn.k_proj.weight", [kv, hidden]),
            (p + "self_attn.v_proj.weight", [kv, hidden]),
            (p + "self_attn.o_proj.weight", [hidden, hidden]),
            (p + "post_attention_layernorm.weight", [hidden]),
            (p + "mlp.gate_proj.weight", [intermediate, hidden]),
            (p + "mlp.up_proj.weight", [intermediate, hidden]),
            (p + "mlp.down_proj.weight", [hidden, intermediate]),
        ]
    out += [("model.norm.weight", [hidden]), ("lm_head.weight", [vocab, hidden])]
    return out


def nbytes(shape):
    n = 2  # bf16
    for d in shape:
        n *= d
    return n


def write_shard(path, tensors):
    header = {"__metadata__": {"format": "pt"}}
    offset = 0
    for name, shape in tensors:
        header[name] = {"dtype": "BF16", "shape": shape, "data_offsets": [offset, offset + nbytes(shape)]}
        offset += nbytes(shape)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for _, shape in tensors:
            f.write(os.urandom(nbytes(shape)))
    return offset


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("out", help="folder to create")
    ap.add_argument("--preset", choices=sorted(PRESETS), default="demo")
    args = ap.parse_args()
    hidden, layers, heads, kv_heads, intermediate, vocab = PRESETS[args.preset]
    os.makedirs(args.out, exist_ok=True)
    config = {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "hidden_size": hidden,
        "intermediate_size": intermediate,
        "num_hidden_layers": layers,
        "num_attention_heads": heads,
        "num_key_value_heads": kv_heads,
        "vocab_size": vocab,
        "max_position_embeddings": 4096,
        "rms_norm_eps": 1e-5,
        "rope_theta": 500000.0,
        "hidden_act": "silu",
        "tie_word_embeddings": False,
        "torch_dtype": "bfloat16",
        "bos_token_id": 1,
        "eos_token_id": 2,
    }
    with open(os.path.join(args.out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    with open(os.path.join(args.out, "generation_config.json"), "w") as f:
        json.dump({"bos_token_id": 1, "eos_token_id": 2}, f, indent=2)

    tensors = tensors_for(hidden, layers, heads, kv_heads, intermediate, vocab)
    half = len(tensors) // 2
    shards = [tensors[:half], tensors[half:]]
    weight_map = {}
    total = 0
    for i, part in enumerate(shards, start=1):
        name = f"model-{i:05d}-of-{len(shards):05d}.safetensors"
        total += write_shard(os.path.join(args.out, name), part)
        for tname, _ in part:
            weight_map[tname] = name
    with open(os.path.join(args.out, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2)
    print(json.dumps({"folder": args.out, "tensors": len(tensors), "bytes": total}))


if __name__ == "__main__":
    main()
