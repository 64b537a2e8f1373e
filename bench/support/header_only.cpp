#include "support/header_only.h"

#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "hubload/file.h"
#include "safetensors/header_write.h"

namespace hubload::bench {
namespace {

using Shape = std::vector<std::uint64_t>;

// What Llama and Mixtral share: config keys, embeddings, attention, norms, head.
struct Dims {
  std::uint64_t hidden, inter, heads, kv_heads, head_dim, vocab;
  int layers;
};

nlohmann::json llama_style_config(std::string_view architecture, std::string_view model_type, const Dims& d) {
  return {{"architectures", {architecture}}, {"model_type", model_type},
          {"hidden_size", d.hidden},         {"intermediate_size", d.inter},
          {"num_attention_heads", d.heads},  {"num_key_value_heads", d.kv_heads},
          {"head_dim", d.head_dim},          {"num_hidden_layers", d.layers},
          {"vocab_size", d.vocab},           {"max_position_embeddings", 32768},
          {"rms_norm_eps", 1e-5},            {"tie_word_embeddings", false},
          {"torch_dtype", "bfloat16"}};
}

// model.embed_tokens, then per layer the attention and norms followed by `mlp(prefix)`,
// then model.norm and lm_head.
template <class Mlp>
std::vector<TensorSpec> llama_style_tensors(const Dims& d, Mlp mlp) {
  std::vector<TensorSpec> t;
  auto add = [&](std::string name, Shape shape) { t.push_back({std::move(name), DType::BF16, std::move(shape)}); };
  add("model.embed_tokens.weight", {d.vocab, d.hidden});
  for (int i = 0; i < d.layers; ++i) {
    const std::string p = fmt::format("model.layers.{}.", i);
    add(p + "input_layernorm.weight", {d.hidden});
    add(p + "self_attn.q_proj.weight", {d.heads * d.head_dim, d.hidden});
    add(p + "self_attn.k_proj.weight", {d.kv_heads * d.head_dim, d.hidden});
    add(p + "self_attn.v_proj.weight", {d.kv_heads * d.head_dim, d.hidden});
    add(p + "self_attn.o_proj.weight", {d.hidden, d.heads * d.head_dim});
    add(p + "post_attention_layernorm.weight", {d.hidden});
    mlp(p, add);
  }
  add("model.norm.weight", {d.hidden});
  add("lm_head.weight", {d.vocab, d.hidden});
  return t;
}

// Mixtral's names (block_sparse_moe, experts.E.w1/w2/w3), at a size that gives as
// many tensors as Kimi-K2 while each tensor keeps a plausible expert shape.
HeaderOnlyLayout mixtral_layout(int layers, int experts) {
  const Dims d{2048, 768, 16, 8, 128, 32000, layers};
  nlohmann::json config = llama_style_config("MixtralForCausalLM", "mixtral", d);
  config["num_local_experts"] = experts;
  config["num_experts_per_tok"] = 8;
  auto moe = [&](const std::string& p, auto& add) {
    add(p + "block_sparse_moe.gate.weight", {static_cast<std::uint64_t>(experts), d.hidden});
    for (int e = 0; e < experts; ++e) {
      const std::string x = fmt::format("{}block_sparse_moe.experts.{}.", p, e);
      add(x + "w1.weight", {d.inter, d.hidden});
      add(x + "w2.weight", {d.hidden, d.inter});
      add(x + "w3.weight", {d.inter, d.hidden});
    }
  };
  return {config.dump(2), llama_style_tensors(d, moe)};
}

// Llama's names with many small dense layers: the same tensor count without MoE.
HeaderOnlyLayout llama_layout(int layers) {
  const Dims d{512, 1536, 8, 8, 64, 32000, layers};
  auto dense = [&](const std::string& p, auto& add) {
    add(p + "mlp.gate_proj.weight", {d.inter, d.hidden});
    add(p + "mlp.up_proj.weight", {d.inter, d.hidden});
    add(p + "mlp.down_proj.weight", {d.hidden, d.inter});
  };
  return {llama_style_config("LlamaForCausalLM", "llama", d).dump(2), llama_style_tensors(d, dense)};
}

}  // namespace

const std::vector<NamedLayout>& header_only_layouts() {
  static const std::vector<NamedLayout> layouts = {
      {"mixtral-140k", "Mixtral naming, 121 layers x 384 experts: 140 242 tensors",
       [] { return mixtral_layout(121, 384); }},
      {"llama-140k", "Llama naming, 15 582 dense layers: 140 241 tensors", [] { return llama_layout(15582); }},
  };
  return layouts;
}

Result<HeaderOnlyLayout> layout_from_list(std::string_view list_text, std::string config_json) {
  HeaderOnlyLayout l;
  l.config_json = std::move(config_json);
  std::istringstream in{std::string(list_text)};
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    std::string name, dtype, dims;
    fields >> name >> dtype >> dims;
    auto parsed = dtype_from_string(dtype);
    if (name.empty() || !parsed) {
      return invalid_input(fmt::format("tensor list line {}: expected 'name DTYPE d0,d1,...', got '{}'", number, line));
    }
    TensorSpec spec{name, *parsed, {}};
    std::istringstream dim_text(dims);
    for (std::string d; std::getline(dim_text, d, ',');) {
      if (d.empty() || d.find_first_not_of("0123456789") != std::string::npos) {
        return invalid_input(fmt::format("tensor list line {}: bad dimension '{}'", number, d));
      }
      spec.shape.push_back(std::stoull(d));
    }
    l.tensors.push_back(std::move(spec));
  }
  return l;
}

Status write_header_only_checkpoint(const std::filesystem::path& dir, const HeaderOnlyLayout& layout, int shards) {
  if (shards < 1 || static_cast<std::size_t>(shards) > std::max<std::size_t>(layout.tensors.size(), 1)) {
    return invalid_input(fmt::format("{} shards for {} tensors", shards, layout.tensors.size()));
  }
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return io_error("creating " + dir.string() + ": " + ec.message());
  nlohmann::json weight_map = nlohmann::json::object();
  std::uint64_t total = 0;
  const std::size_t n = layout.tensors.size();
  for (int s = 0; s < shards; ++s) {
    const std::size_t first = n * static_cast<std::size_t>(s) / static_cast<std::size_t>(shards);
    const std::size_t last = n * static_cast<std::size_t>(s + 1) / static_cast<std::size_t>(shards);
    std::vector<TensorSpec> specs(layout.tensors.begin() + static_cast<std::ptrdiff_t>(first),
                                  layout.tensors.begin() + static_cast<std::ptrdiff_t>(last));
    const std::string file = fmt::format("model-{:05d}-of-{:05d}.safetensors", s + 1, shards);
    const std::filesystem::path path = dir / file;
    HUBLOAD_ASSIGN_OR_RETURN(auto header, safetensors_internal::serialize_header(specs, {{"format", "pt"}},
                                                                                path.native()));
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!fd.valid()) return errno_error(path.string(), errno);
    HUBLOAD_TRY(write_all(fd.get(), std::as_bytes(std::span(header.bytes.data(), header.bytes.size())), path));
    // The data is a hole: the file has its full size, and no blocks.
    if (::ftruncate(fd.get(), static_cast<off_t>(header.bytes.size() + header.data_bytes)) != 0) {
      return errno_error(path.string() + ": ftruncate", errno);
    }
    for (const TensorSpec& spec : specs) weight_map[spec.name] = file;
    total += header.data_bytes;
  }
  const nlohmann::json index = {{"metadata", {{"total_size", total}}}, {"weight_map", std::move(weight_map)}};
  for (const auto& [name, text] : {std::pair{std::string("model.safetensors.index.json"), index.dump(2)},
                                   std::pair{std::string("config.json"), layout.config_json}}) {
    const std::filesystem::path path = dir / name;
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!fd.valid()) return errno_error(path.string(), errno);
    HUBLOAD_TRY(write_all(fd.get(), std::as_bytes(std::span(text.data(), text.size())), path));
  }
  return ok();
}

}  // namespace hubload::bench
