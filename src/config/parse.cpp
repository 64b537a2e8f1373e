// config.json -> ModelConfig: standard keys, then the family's spellings and
// defaults, then the generic derivations (KV heads, head_dim) for known families.
#include <algorithm>
#include <filesystem>

#include "config/families.h"
#include "hubload/config.h"
#include "hubload/file.h"

namespace hubload {
namespace {

using config_internal::FieldReader;

// A config.json is a few KiB; anything this large is not one.
constexpr std::size_t kMaxConfigBytes = 16u << 20;

// The object the language model's fields live in: the top level, or a
// multimodal wrapper's text_config / llm_config.
std::string text_sub_config(const nlohmann::json& top) {
  for (const char* key : {"text_config", "llm_config"}) {
    auto it = top.find(key);
    if (it != top.end() && it->is_object()) return key;
  }
  return "";
}

Status read_identity(const FieldReader& top, const nlohmann::json& doc, ModelConfig& c) {
  HUBLOAD_ASSIGN_OR_RETURN(auto type, top.string({"model_type"}));
  c.model_type = type.value_or("");
  if (const auto* archs = top.find({"architectures"})) {
    if (!archs->is_array()) return invalid_input(top.where("architectures") + " must be an array of strings");
    for (const auto& a : *archs) {
      if (!a.is_string()) return invalid_input(top.where("architectures") + " must be an array of strings");
      c.architectures.push_back(a.get<std::string>());
    }
  }
  return ok();
}

// The model's dtype and tie flag: the wrapper's keys win (transformers reads them
// from the top-level config), then the text config's.
Status read_wrapper_keys(const FieldReader& top, const FieldReader& text, const config_internal::Family* family,
                         ModelConfig& c) {
  HUBLOAD_ASSIGN_OR_RETURN(auto dtype, top.string({"torch_dtype", "dtype"}));
  if (!dtype) {
    HUBLOAD_ASSIGN_OR_RETURN(dtype, text.string({"torch_dtype", "dtype"}));
  }
  c.dtype = dtype;
  HUBLOAD_ASSIGN_OR_RETURN(auto tie, top.boolean({"tie_word_embeddings"}));
  if (!tie) {
    HUBLOAD_ASSIGN_OR_RETURN(tie, text.boolean({"tie_word_embeddings"}));
  }
  if (tie) {
    c.tie_word_embeddings = *tie;
  } else if (family) {
    c.tie_word_embeddings = family->tie_default;
    c.derivations.push_back(std::string("tie_word_embeddings = ") + (family->tie_default ? "true" : "false") +
                            " (" + std::string(family->name) + " default)");
  } else {
    c.tie_word_embeddings = true;  // PretrainedConfig's default, but unconfirmed
    c.undetermined.push_back("tie_word_embeddings");
  }
  return ok();
}

// KV heads default to the query heads (MHA) and head_dim to hidden / heads;
// only for families whose rules say so.
Status derive_attention(const FieldReader& r, ModelConfig& c) {
  auto listed = [&](std::string_view f) {
    return std::find(c.undetermined.begin(), c.undetermined.end(), f) != c.undetermined.end();
  };
  if (!c.num_key_value_heads && c.num_attention_heads && !listed("num_key_value_heads")) {
    c.num_key_value_heads = c.num_attention_heads;
    c.derivations.push_back("num_key_value_heads = num_attention_heads (no KV key: multi-head attention)");
  }
  if (!c.head_dim && c.hidden_size && c.num_attention_heads) {
    if (*c.hidden_size % *c.num_attention_heads != 0) {
      return invalid_input(r.where("hidden_size") + " " + std::to_string(*c.hidden_size) +
                           " is not divisible by num_attention_heads " + std::to_string(*c.num_attention_heads) +
                           " and no head_dim is given");
    }
    c.head_dim = *c.hidden_size / *c.num_attention_heads;
    c.derivations.push_back("head_dim = hidden_size / num_attention_heads");
  }
  return ok();
}

void list_undetermined(ModelConfig& c) {
  auto note = [&](const auto& field, const char* name) {
    if (!field && std::find(c.undetermined.begin(), c.undetermined.end(), name) == c.undetermined.end()) {
      c.undetermined.push_back(name);
    }
  };
  note(c.num_hidden_layers, "num_hidden_layers");
  note(c.hidden_size, "hidden_size");
  note(c.num_attention_heads, "num_attention_heads");
  note(c.num_key_value_heads, "num_key_value_heads");
  note(c.head_dim, "head_dim");
  note(c.intermediate_size, "intermediate_size");
  note(c.vocab_size, "vocab_size");
}

}  // namespace

Result<ModelConfig> parse_model_config(std::string_view json_text, std::string_view source) {
  if (json_text.size() > kMaxConfigBytes) {
    return invalid_input(std::string(source) + ": " + std::to_string(json_text.size()) +
                         " bytes is too large for a config.json");
  }
  nlohmann::json doc = nlohmann::json::parse(json_text.begin(), json_text.end(), nullptr, false);
  if (doc.is_discarded()) return invalid_input(std::string(source) + ": not valid JSON");
  if (!doc.is_object()) return invalid_input(std::string(source) + ": top level must be a JSON object");

  ModelConfig c;
  c.source = std::string(source);
  c.raw_json = std::string(json_text);
  FieldReader top(doc, source, "");
  HUBLOAD_TRY(read_identity(top, doc, c));

  c.text_config_key = text_sub_config(doc);
  const nlohmann::json& text_obj = c.text_config_key.empty() ? doc : doc[c.text_config_key];
  FieldReader text(text_obj, source, c.text_config_key.empty() ? "" : c.text_config_key + ".");
  std::string family_type = c.model_type;
  if (!c.text_config_key.empty()) {
    HUBLOAD_ASSIGN_OR_RETURN(auto inner, text.string({"model_type"}));
    family_type = inner.value_or("");
  }
  const config_internal::Family* family = config_internal::find_family(family_type);
  if (!family) {
    // Custom model_types (Kimi-K2's kimi_k2) reuse a transformers class; its family's rules apply.
    for (const std::string& a : c.architectures) {
      family = config_internal::family_for_architecture(a);
      if (!family) continue;
      c.family_from_architecture = a;
      c.derivations.push_back("family " + std::string(family->name) + " from architectures " + a + " (model_type '" +
                              family_type + "' has no rules of its own)");
      break;
    }
  }
  c.known_family = family != nullptr;
  if (family) c.family = std::string(family->name);

  HUBLOAD_TRY(config_internal::read_standard_keys(text, c));
  if (family) HUBLOAD_TRY(family->read(text, c));
  HUBLOAD_TRY(read_wrapper_keys(top, text, family, c));
  HUBLOAD_TRY(config_internal::read_quantization(top, c));
  if (family) HUBLOAD_TRY(derive_attention(text, c));
  list_undetermined(c);
  return c;
}

Result<ModelConfig> load_model_config(const std::string& path) {
  std::error_code ec;
  std::filesystem::path p(path);
  if (std::filesystem::is_directory(p, ec)) p /= "config.json";
  HUBLOAD_ASSIGN_OR_RETURN(std::string text, read_text_file(p.string()));
  return parse_model_config(text, p.string());
}

}  // namespace hubload
