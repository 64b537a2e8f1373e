#!/usr/bin/env python3
"""Prints the tensor list of a DeepSeek-V3-architecture checkpoint (DeepSeek-V3/R1,
Kimi-K2) from its config.json, one "name DTYPE d0,d1,..." per line, for
`gen_header_only --list`: the published naming (MLA, dense then MoE layers, the MTP
layers after the main ones) with FP8 weights and their 128x128 block weight_scale_inv
when the config says fp8.

  bench/deepseek-tensors.py CONFIG.json > tensors.txt
"""
import json
import sys


def main(path):
    c = json.load(open(path))
    fp8 = c.get("quantization_config", {}).get("quant_method") == "fp8"
    h, heads, vocab = c["hidden_size"], c["num_attention_heads"], c["vocab_size"]
    nope, rope, v = c["qk_nope_head_dim"], c["qk_rope_head_dim"], c["v_head_dim"]
    q_lora, kv_lora = c.get("q_lora_rank"), c["kv_lora_rank"]
    layers, mtp = c["num_hidden_layers"], c.get("num_nextn_predict_layers", 0)
    experts, dense = c["n_routed_experts"], c.get("first_k_dense_replace", 0)
    freq, shared = c.get("moe_layer_freq", 1), c.get("n_shared_experts", 0)
    out = []

    def t(name, dtype, *shape):
        out.append(f"{name} {dtype} {','.join(str(d) for d in shape)}")

    def linear(p, rows, cols):
        if fp8:
            t(p + ".weight", "F8_E4M3", rows, cols)
            t(p + ".weight_scale_inv", "F32", -(-rows // 128), -(-cols // 128))
        else:
            t(p + ".weight", "BF16", rows, cols)

    def mlp(p, width):
        linear(p + ".gate_proj", width, h)
        linear(p + ".up_proj", width, h)
        linear(p + ".down_proj", h, width)

    def layer(i):
        p = f"model.layers.{i}"
        t(p + ".input_layernorm.weight", "BF16", h)
        if q_lora:
            linear(p + ".self_attn.q_a_proj", q_lora, h)
            t(p + ".self_attn.q_a_layernorm.weight", "BF16", q_lora)
            linear(p + ".self_attn.q_b_proj", heads * (nope + rope), q_lora)
        else:
            linear(p + ".self_attn.q_proj", heads * (nope + rope), h)
        linear(p + ".self_attn.kv_a_proj_with_mqa", kv_lora + rope, h)
        t(p + ".self_attn.kv_a_layernorm.weight", "BF16", kv_lora)
        linear(p + ".self_attn.kv_b_proj", heads * (nope + v), kv_lora)
        linear(p + ".self_attn.o_proj", h, heads * v)
        t(p + ".post_attention_layernorm.weight", "BF16", h)
        if i < dense or i % freq != 0:
            mlp(p + ".mlp", c["intermediate_size"])
            return
        t(p + ".mlp.gate.weight", "BF16", experts, h)
        t(p + ".mlp.gate.e_score_correction_bias", "F32", experts)
        for e in range(experts):
            mlp(f"{p}.mlp.experts.{e}", c["moe_intermediate_size"])
        if shared:
            mlp(p + ".mlp.shared_experts", shared * c["moe_intermediate_size"])

    t("model.embed_tokens.weight", "BF16", vocab, h)
    for i in range(layers):
        layer(i)
    for k in range(mtp):
        i = layers + k
        p = f"model.layers.{i}"
        layer(i)
        t(p + ".embed_tokens.weight", "BF16", vocab, h)
        t(p + ".enorm.weight", "BF16", h)
        t(p + ".hnorm.weight", "BF16", h)
        t(p + ".eh_proj.weight", "BF16", h, 2 * h)
        t(p + ".shared_head.norm.weight", "BF16", h)
        t(p + ".shared_head.head.weight", "BF16", vocab, h)
    t("model.norm.weight", "BF16", h)
    t("lm_head.weight", "BF16", vocab, h)
    print("\n".join(out))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
