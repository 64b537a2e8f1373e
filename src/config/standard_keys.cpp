#include "config/families.h"

namespace hubload::config_internal {

Status read_standard_keys(const FieldReader& r, ModelConfig& c) {
  HUBLOAD_ASSIGN_OR_RETURN(c.num_hidden_layers, r.size({"num_hidden_layers"}));
  HUBLOAD_ASSIGN_OR_RETURN(c.hidden_size, r.size({"hidden_size"}));
  HUBLOAD_ASSIGN_OR_RETURN(c.num_attention_heads, r.size({"num_attention_heads"}));
  HUBLOAD_ASSIGN_OR_RETURN(c.num_key_value_heads, r.size({"num_key_value_heads"}));
  HUBLOAD_ASSIGN_OR_RETURN(c.head_dim, r.size({"head_dim"}));
  HUBLOAD_ASSIGN_OR_RETURN(c.intermediate_size, r.size({"intermediate_size"}));
  HUBLOAD_ASSIGN_OR_RETURN(c.vocab_size, r.size({"vocab_size"}));
  HUBLOAD_ASSIGN_OR_RETURN(c.max_position_embeddings, r.size({"max_position_embeddings"}));
  HUBLOAD_ASSIGN_OR_RETURN(c.rope_theta, r.number({"rope_theta"}));
  if (const auto* rs = r.find({"rope_scaling", "rope_parameters"})) c.rope_scaling_json = rs->dump();
  // Qwen2-style configs carry a sliding_window that is off unless use_sliding_window.
  HUBLOAD_ASSIGN_OR_RETURN(auto use_sw, r.boolean({"use_sliding_window"}));
  HUBLOAD_ASSIGN_OR_RETURN(auto sw, r.size({"sliding_window"}));
  if (use_sw.value_or(true)) c.sliding_window = sw;
  return ok();
}

}  // namespace hubload::config_internal
