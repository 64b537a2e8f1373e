#include "config/families.h"

#include <array>

namespace hubload::config_internal {
namespace {

constexpr auto G = MlpKind::gated;
constexpr auto P = MlpKind::plain;

// tie defaults: PretrainedConfig's is true; the classes marked false override it.
constexpr std::array kFamilies = {
    Family{"llama", false, G, false, read_llama},
    Family{"mistral", false, G, false, read_llama_like},
    Family{"mixtral", false, G, false, read_local_experts},
    Family{"qwen2", false, G, false, read_llama_like},
    Family{"qwen2_vl", false, G, false, read_llama_like},
    Family{"qwen2_5_vl", false, G, false, read_llama_like},
    Family{"qwen2_vl_text", false, G, false, read_llama_like},
    Family{"qwen2_5_vl_text", false, G, false, read_llama_like},
    Family{"qwen3", false, G, false, read_llama_like},
    Family{"qwen3_vl_text", false, G, false, read_llama_like},
    Family{"qwen2_moe", false, G, false, read_qwen_moe},
    Family{"qwen3_moe", false, G, false, read_qwen_moe},
    Family{"qwen3_vl_moe_text", false, G, false, read_qwen_moe},
    Family{"gemma", true, G, false, read_llama_like},
    Family{"gemma2", true, G, false, read_llama_like},
    Family{"gemma3_text", true, G, false, read_llama_like},
    Family{"phi3", false, G, false, read_llama_like},
    Family{"phi", false, P, false, read_llama_like},
    Family{"gpt_neox", false, P, false, read_llama_like},
    Family{"deepseek_v2", false, G, false, read_deepseek},
    Family{"deepseek_v3", false, G, false, read_deepseek},
    Family{"gpt_oss", false, G, false, read_gpt_oss},
    Family{"qwen3_next", false, G, false, read_qwen3_next},
    Family{"llama4_text", false, G, false, read_llama4_text},
    Family{"mllama_text_model", false, G, false, read_llama_like},
    Family{"nemotron-nas", false, G, false, read_nemotron_nas},
    Family{"deci", false, G, false, read_nemotron_nas},
    Family{"gpt2", true, P, true, read_gpt2},
    Family{"bloom", true, P, false, read_bloom},
    // Falcon configs written before the key existed are tied (vLLM reads them so).
    Family{"falcon", true, P, false, read_falcon},
    Family{"RefinedWeb", true, P, false, read_refined_web},
    Family{"RefinedWebModel", true, P, false, read_refined_web},
    Family{"opt", true, P, true, read_opt},
    Family{"t5", true, P, false, read_t5},  // gated when feed_forward_proj says so
    Family{"mt5", false, P, false, read_t5},
    Family{"umt5", true, P, false, read_t5},
    Family{"chatglm", false, G, false, read_chatglm},
    Family{"qwen", false, G, false, read_qwen_v1},
};

// Architecture classes of the families above, for custom model_types that reuse one.
struct Architecture {
  std::string_view architecture, model_type;
};
constexpr std::array kArchitectures = {
    Architecture{"DeepseekV3ForCausalLM", "deepseek_v3"}, Architecture{"DeepseekV2ForCausalLM", "deepseek_v2"},
    Architecture{"LlamaForCausalLM", "llama"},             Architecture{"MistralForCausalLM", "mistral"},
    Architecture{"MixtralForCausalLM", "mixtral"},         Architecture{"Qwen2ForCausalLM", "qwen2"},
    Architecture{"Qwen2MoeForCausalLM", "qwen2_moe"},      Architecture{"Qwen3ForCausalLM", "qwen3"},
    Architecture{"Qwen3MoeForCausalLM", "qwen3_moe"},      Architecture{"Qwen3NextForCausalLM", "qwen3_next"},
    Architecture{"GptOssForCausalLM", "gpt_oss"},          Architecture{"Phi3ForCausalLM", "phi3"},
    Architecture{"GemmaForCausalLM", "gemma"},             Architecture{"Gemma2ForCausalLM", "gemma2"},
    Architecture{"GPTNeoXForCausalLM", "gpt_neox"},        Architecture{"GPT2LMHeadModel", "gpt2"},
    Architecture{"BloomForCausalLM", "bloom"},             Architecture{"FalconForCausalLM", "falcon"},
    Architecture{"OPTForCausalLM", "opt"},
};

}  // namespace

const Family* family_for_architecture(std::string_view architecture) {
  for (const Architecture& a : kArchitectures)
    if (a.architecture == architecture) return find_family(a.model_type);
  return nullptr;
}

const Family* find_family(std::string_view model_type) {
  for (const Family& f : kFamilies) {
    if (f.name == model_type) return &f;
  }
  return nullptr;
}

}  // namespace hubload::config_internal
