// Tensor-parallel divisibility rules (tensor-parallel.md §4, §6.2, §9.1): every
// problem is reported at once, with its numbers.
#include <numeric>

#include "hubload/config.h"

namespace hubload {
namespace {

std::string n(std::int64_t v) { return std::to_string(v); }

void check_divisible(TpValidation& out, const char* field, const std::optional<std::int64_t>& value) {
  if (value && *value % out.world_size != 0) {
    out.problems.push_back({field, std::string(field) + " " + n(*value) + " is not divisible by tp " + n(out.world_size)});
  }
}

void check_kv_heads(TpValidation& out, const ModelConfig& c) {
  if (!c.num_key_value_heads) return;
  const std::int64_t kv = *c.num_key_value_heads, w = out.world_size;
  if (c.mla) {
    // MLA's latent KV is one shared projection: every rank holds all of it.
    out.notes.push_back("multi-head latent attention: the KV latent (kv_lora_rank " + n(c.mla->kv_lora_rank) +
                        ") is replicated on every rank");
    out.kv_heads_per_rank = out.heads_per_rank;
    return;
  }
  if (w <= kv) {
    if (kv % w != 0) {
      out.problems.push_back({"num_key_value_heads", "num_key_value_heads " + n(kv) + " is not divisible by tp " + n(w)});
    } else {
      out.kv_heads_per_rank = kv / w;
    }
    return;
  }
  if (w % kv != 0) {
    out.problems.push_back(
        {"num_key_value_heads", "tp " + n(w) + " is not a multiple of num_key_value_heads " + n(kv) +
                                    " (with more ranks than KV heads, each KV head must be replicated a whole number of times)"});
    return;
  }
  out.kv_heads_per_rank = 1;
  out.kv_replication = w / kv;
  out.notes.push_back("num_key_value_heads " + n(kv) + " < tp " + n(w) + ": each KV head is replicated on " +
                      n(w / kv) + " ranks");
}

void check_vocab(TpValidation& out, std::int64_t v) {
  const std::int64_t w = out.world_size;
  const std::int64_t padded = (v + w - 1) / w * w;
  const std::int64_t unit = std::lcm<std::int64_t>(64, w);
  const std::int64_t vllm = (v + unit - 1) / unit * unit;
  out.padded_vocab = padded;
  out.vllm_padded_vocab = vllm;
  if (padded != v) {
    out.notes.push_back("vocab_size " + n(v) + " is not divisible by tp " + n(w) + ": pad to " + n(padded) + " (" +
                        n(padded - v) + " zero rows) to split the embedding and LM head evenly");
  }
  if (vllm != v) {
    out.notes.push_back("vLLM pads vocab_size " + n(v) + " to " + n(vllm) + " (a multiple of lcm(64, tp " + n(w) +
                        ") = " + n(unit) + ")");
  }
}

}  // namespace

TpValidation validate_tensor_parallel(const ModelConfig& c, int world_size) {
  TpValidation out;
  out.world_size = world_size;
  if (world_size < 1) {
    out.problems.push_back({"tp", "tp " + n(world_size) + " must be at least 1"});
    return out;
  }
  if (c.num_attention_heads) {
    check_divisible(out, "num_attention_heads", c.num_attention_heads);
    if (*c.num_attention_heads % world_size == 0) out.heads_per_rank = *c.num_attention_heads / world_size;
  } else {
    out.notes.push_back("num_attention_heads is undetermined: head split not checked");
  }
  check_kv_heads(out, c);
  // Mixtral's and gpt-oss's intermediate_size is the experts' width: report it once.
  if (!c.moe || c.moe->expert_intermediate_size != c.intermediate_size) {
    check_divisible(out, "intermediate_size", c.intermediate_size);
  }
  if (c.moe) {
    check_divisible(out, "expert_intermediate_size", c.moe->expert_intermediate_size);
    check_divisible(out, "shared_expert_intermediate_size", c.moe->shared_expert_intermediate_size);
  }
  if (c.linear_attention) {
    // Gated DeltaNet heads are split like attention heads (whole key-head groups of in_proj_qkvz).
    check_divisible(out, "linear_num_key_heads", c.linear_attention->num_key_heads);
    check_divisible(out, "linear_num_value_heads", c.linear_attention->num_value_heads);
  }
  if (c.vocab_size) check_vocab(out, *c.vocab_size);
  return out;
}

}  // namespace hubload
