#include "hub/model_files.h"

#include <algorithm>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "util/json_limits.h"
#include "util/terminal_text.h"

namespace hubload::hub_internal {
namespace {

constexpr const char* kTokenizerFiles[] = {"tokenizer.json",   "tokenizer_config.json", "special_tokens_map.json",
                                           "tokenizer.model",  "spiece.model",          "vocab.json",
                                           "vocab.txt",        "merges.txt",            "added_tokens.json"};

bool top_level_with_suffix(const std::string& path, std::string_view suffix) {
  return path.find('/') == std::string::npos && path.ends_with(suffix);
}

}  // namespace

Result<std::vector<std::string>> weight_map_files(std::string_view index_json, std::string_view what) {
  HUBLOAD_TRY(util_internal::check_json_limits(index_json, what));  // a file the server sent
  auto doc = nlohmann::json::parse(index_json, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return invalid_input(fmt::format("{}: not a JSON object", what));
  if (!doc.contains("weight_map") || !doc["weight_map"].is_object()) {
    return invalid_input(fmt::format("{}: missing the object \"weight_map\"", what));
  }
  std::set<std::string> shards;
  for (const auto& [tensor, file] : doc["weight_map"].items()) {
    // Tensor and file names are the file's: quoted escaped.
    if (!file.is_string()) {
      return invalid_input(
          fmt::format("{}: weight_map[\"{}\"] is not a file name", what, util_internal::terminal_safe(tensor)));
    }
    const std::string name = file.get<std::string>();
    Status valid = validate_repo_file_path(name);
    if (!valid) {
      return invalid_input(util_internal::terminal_safe(
          fmt::format("{}: weight_map[\"{}\"]: {}", what, tensor, valid.error().message())));
    }
    shards.insert(name);
  }
  return std::vector<std::string>(shards.begin(), shards.end());
}

Result<std::vector<std::string>> select_model_files(const std::vector<std::string>& available,
                                                     const DownloadOptions& options, const IndexReader& read_index,
                                                     bool require_listed) {
  std::vector<std::string> chosen;
  if (!options.allow_patterns.empty()) {
    for (const auto& file : available) {
      if (hub_path_selected(file, options.allow_patterns, options.ignore_patterns)) chosen.push_back(file);
    }
    return chosen;
  }
  const std::set<std::string> have(available.begin(), available.end());
  auto add_if_present = [&](const std::string& file) {
    if (have.count(file) != 0) chosen.push_back(file);
  };
  add_if_present("config.json");
  if (options.include_generation_config) add_if_present("generation_config.json");
  if (options.include_tokenizer) {
    for (const char* file : kTokenizerFiles) add_if_present(file);
  }

  auto add_indexed = [&](const std::string& index) -> Status {
    chosen.push_back(index);
    if (options.skip_download_weights) return ok();
    HUBLOAD_ASSIGN_OR_RETURN(std::vector<std::string> shards, read_index(index));
    for (auto& shard : shards) {
      if (require_listed && have.count(shard) == 0) {
        return not_found(fmt::format("{} names the shard {}, which the repo does not have", index, shard));
      }
      chosen.push_back(std::move(shard));
    }
    return ok();
  };
  auto add_unindexed = [&](std::string_view suffix, const std::string& single) {
    if (options.skip_download_weights) return;
    if (have.count(single) != 0) {
      chosen.push_back(single);
      return;
    }
    for (const auto& file : available) {
      if (top_level_with_suffix(file, suffix)) chosen.push_back(file);
    }
  };
  const bool any_safetensors = std::any_of(available.begin(), available.end(), [](const std::string& f) {
    return top_level_with_suffix(f, ".safetensors");
  });
  const bool any_bin = std::any_of(available.begin(), available.end(),
                                   [](const std::string& f) { return top_level_with_suffix(f, ".bin"); });
  if (have.count("model.safetensors.index.json") != 0) {
    HUBLOAD_TRY(add_indexed("model.safetensors.index.json"));
  } else if (any_safetensors) {
    add_unindexed(".safetensors", "model.safetensors");
  } else if (have.count("pytorch_model.bin.index.json") != 0) {
    HUBLOAD_TRY(add_indexed("pytorch_model.bin.index.json"));
  } else if (any_bin) {
    add_unindexed(".bin", "pytorch_model.bin");
  }

  std::erase_if(chosen, [&](const std::string& f) { return !hub_path_selected(f, {}, options.ignore_patterns); });
  std::sort(chosen.begin(), chosen.end());
  chosen.erase(std::unique(chosen.begin(), chosen.end()), chosen.end());
  return chosen;
}

}  // namespace hubload::hub_internal
