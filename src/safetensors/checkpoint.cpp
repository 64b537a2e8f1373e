// open_checkpoint: resolve PATH to shards, read every header, and check the
// index against them (safetensors.md §8.2).
#include <algorithm>
#include <filesystem>
#include <unordered_map>

#include "hubload/safetensors.h"

namespace hubload {
namespace fs = std::filesystem;

namespace {

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// What PATH names: the folder, and either an index or the shard list.
struct Layout {
  fs::path root;
  std::optional<fs::path> index;
  std::vector<std::string> shards;  // only without an index
};

Result<Layout> resolve_layout(const std::string& path) {
  std::error_code ec;
  fs::file_status st = fs::status(path, ec);
  if (ec || !fs::exists(st)) return not_found(path + ": no such file or folder");
  Layout layout;
  if (!fs::is_directory(st)) {
    fs::path p = fs::absolute(path, ec);
    layout.root = p.parent_path();
    if (ends_with(path, ".json")) {
      layout.index = p;
    } else {
      layout.shards.push_back(p.filename().string());
    }
    return layout;
  }
  layout.root = fs::absolute(path, ec);
  std::vector<std::string> indexes;
  for (const fs::directory_entry& e : fs::directory_iterator(layout.root, ec)) {
    std::string name = e.path().filename().string();
    if (!e.is_regular_file(ec)) continue;
    if (ends_with(name, ".safetensors.index.json")) indexes.push_back(name);
    else if (ends_with(name, ".safetensors")) layout.shards.push_back(name);
  }
  if (ec) return errno_error(path, ec.value());
  std::sort(indexes.begin(), indexes.end());
  std::sort(layout.shards.begin(), layout.shards.end());
  if (std::find(indexes.begin(), indexes.end(), "model.safetensors.index.json") != indexes.end()) {
    layout.index = layout.root / "model.safetensors.index.json";
  } else if (indexes.size() == 1) {
    layout.index = layout.root / indexes.front();
  } else if (indexes.size() > 1) {
    return invalid_input(path + ": several safetensors indexes (" + indexes[0] + ", " + indexes[1] +
                         ", ...) and no model.safetensors.index.json; pass the index file to use");
  }
  if (!layout.index && layout.shards.empty()) {
    return not_found(path + ": folder holds no *.safetensors file and no safetensors index");
  }
  if (layout.index) layout.shards.clear();
  return layout;
}

Status open_shards(Checkpoint& ckpt, const ReaderOptions& options) {
  ckpt.shard_headers.reserve(ckpt.shard_files.size());
  for (const std::string& shard : ckpt.shard_files) {
    std::string full = (fs::path(ckpt.root) / shard).string();
    HUBLOAD_ASSIGN_OR_RETURN(ReadFile file, ReadFile::open(full));
    HUBLOAD_ASSIGN_OR_RETURN(SafetensorsHeader header, read_header(file, options));
    ckpt.shard_headers.push_back(std::move(header));
  }
  return ok();
}

// Without an index every tensor of every shard belongs to the checkpoint; a name in
// two shards is ambiguous.
Status collect_unindexed(Checkpoint& ckpt) {
  std::unordered_map<std::string_view, std::size_t> owner;
  for (std::size_t s = 0; s < ckpt.shard_files.size(); ++s) {
    for (const TensorInfo& t : ckpt.shard_headers[s].tensors) {
      auto [it, inserted] = owner.emplace(t.name, s);
      if (!inserted) {
        return invalid_input("tensor '" + t.name + "' appears in two shards: " + ckpt.shard_files[it->second] +
                             " and " + ckpt.shard_files[s]);
      }
      ckpt.tensors.push_back({t, ckpt.shard_files[s]});
    }
  }
  return ok();
}

Status collect_indexed(Checkpoint& ckpt, const ShardedIndex& index) {
  const std::string& index_name = *ckpt.index_file;
  // Where each tensor actually is, over all shards, to catch duplicates and misplacements.
  std::unordered_map<std::string_view, std::size_t> found;
  for (std::size_t s = 0; s < ckpt.shard_files.size(); ++s) {
    for (const TensorInfo& t : ckpt.shard_headers[s].tensors) {
      auto [it, inserted] = found.emplace(t.name, s);
      if (!inserted) {
        return invalid_input(index_name + ": tensor '" + t.name + "' appears in two shards: " +
                             ckpt.shard_files[it->second] + " and " + ckpt.shard_files[s]);
      }
    }
  }
  for (const auto& [name, shard] : index.weight_map) {
    auto it = found.find(name);
    if (it == found.end()) {
      return invalid_input(index_name + ": tensor '" + name + "' is mapped to " + shard + " but is in no shard");
    }
    if (ckpt.shard_files[it->second] != shard) {
      return invalid_input(index_name + ": tensor '" + name + "' is mapped to " + shard + " but is in " +
                           ckpt.shard_files[it->second]);
    }
  }
  std::uint64_t mapped_bytes = 0;
  for (std::size_t s = 0; s < ckpt.shard_files.size(); ++s) {
    for (const TensorInfo& t : ckpt.shard_headers[s].tensors) {
      if (!index.weight_map.contains(t.name)) {
        ckpt.warnings.push_back(ckpt.shard_files[s] + ": tensor '" + t.name + "' is not in the index; ignored");
        continue;
      }
      mapped_bytes += t.size;
      ckpt.tensors.push_back({t, ckpt.shard_files[s]});
    }
  }
  if (index.total_size && *index.total_size != mapped_bytes) {
    ckpt.warnings.push_back(index_name + ": metadata.total_size is " + std::to_string(*index.total_size) +
                            " but the mapped tensors hold " + std::to_string(mapped_bytes) + " bytes");
  }
  return ok();
}

}  // namespace

const CheckpointTensor* Checkpoint::find(std::string_view name) const { return name_index.find(tensors, name); }

void Checkpoint::reindex() { name_index.build(tensors); }

std::uint64_t Checkpoint::total_data_bytes() const {
  std::uint64_t total = 0;
  for (const CheckpointTensor& t : tensors) total += t.info.size;
  return total;
}

Result<Checkpoint> open_checkpoint(const std::filesystem::path& path, const ReaderOptions& options) {
  HUBLOAD_ASSIGN_OR_RETURN(Layout layout, resolve_layout(path.string()));
  Checkpoint ckpt;
  ckpt.root = layout.root.string();
  if (!layout.index) {
    ckpt.shard_files = std::move(layout.shards);
    HUBLOAD_TRY(open_shards(ckpt, options));
    HUBLOAD_TRY(collect_unindexed(ckpt));
    ckpt.reindex();
    return ckpt;
  }
  ckpt.index_file = layout.index->string();
  HUBLOAD_ASSIGN_OR_RETURN(ShardedIndex index, load_index(*ckpt.index_file));
  ckpt.shard_files = index.shard_files();
  for (const std::string& shard : ckpt.shard_files) {
    std::error_code ec;
    if (!fs::is_regular_file(fs::path(ckpt.root) / shard, ec)) {
      std::string tensor;
      for (const auto& [name, file] : index.weight_map) {
        if (file == shard) { tensor = name; break; }
      }
      return invalid_input(*ckpt.index_file + ": shard " + shard + " (holding tensor '" + tensor +
                           "', among others) does not exist in " + ckpt.root);
    }
  }
  HUBLOAD_TRY(open_shards(ckpt, options));
  HUBLOAD_TRY(collect_indexed(ckpt, index));
  ckpt.reindex();
  return ckpt;
}

Result<Checkpoint> assemble_checkpoint(std::string root, std::optional<std::string> index_file,
                                       const ShardedIndex* index, std::vector<std::string> shard_files,
                                       std::vector<SafetensorsHeader> shard_headers) {
  if (shard_files.size() != shard_headers.size()) {
    return internal_error("assemble_checkpoint: " + std::to_string(shard_files.size()) + " shard files but " +
                          std::to_string(shard_headers.size()) + " headers");
  }
  Checkpoint ckpt;
  ckpt.root = std::move(root);
  ckpt.shard_files = std::move(shard_files);
  ckpt.shard_headers = std::move(shard_headers);
  if (index == nullptr) {
    HUBLOAD_TRY(collect_unindexed(ckpt));
    ckpt.reindex();
    return ckpt;
  }
  ckpt.index_file = index_file ? std::move(*index_file) : ckpt.root + "/model.safetensors.index.json";
  HUBLOAD_TRY(collect_indexed(ckpt, *index));
  ckpt.reindex();
  return ckpt;
}

}  // namespace hubload
