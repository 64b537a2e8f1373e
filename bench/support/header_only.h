// Header-only checkpoints for benchmarks: real safetensors headers, index and
// config.json, with holes (ftruncate) where the weights would be, so a
// 140k-tensor, 400 GiB-sized model costs a few MB of disk and seconds to write.
// `inspect` and `plan` read only headers, so they see a real checkpoint.
//
// A layout is a config.json plus the tensor list in the published naming; add
// one by adding a function to header_only.cpp and a row to header_only_layouts().
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "hubload/error.h"
#include "hubload/safetensors.h"

namespace hubload::bench {

struct HeaderOnlyLayout {
  std::string config_json;
  std::vector<TensorSpec> tensors;  // in checkpoint order; shards take consecutive runs of it
};

struct NamedLayout {
  std::string_view name;
  std::string_view description;
  std::function<HeaderOnlyLayout()> make;
};

// Every layout by name: "mixtral-140k" (Mixtral naming, 121 layers x 384 experts:
// 140 242 tensors, Kimi-K2's count), "llama-140k" (Llama naming, 15 582 dense layers).
const std::vector<NamedLayout>& header_only_layouts();

// Reads a tensor list, one "name DTYPE d0,d1,..." per line (an empty shape is a
// scalar), with `config_json` as the config: for layouts not built in.
Result<HeaderOnlyLayout> layout_from_list(std::string_view list_text, std::string config_json);

// Writes dir/config.json, `shards` files model-0000i-of-0000n.safetensors (consecutive
// runs of the tensors, each a valid header followed by a hole of its data size) and
// model.safetensors.index.json. invalid_input when a tensor is malformed.
Status write_header_only_checkpoint(const std::filesystem::path& dir, const HeaderOnlyLayout& layout, int shards);

}  // namespace hubload::bench
