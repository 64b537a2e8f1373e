// Which files of a repo make a model (tensor-parallel.md §13.3, done right):
// config.json always; safetensors preferred over .bin; with an index, exactly
// the shards its weight_map names (never a stray consolidated.safetensors);
// skip-weights keeps config.json and the index only.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "hubload/hub.h"

namespace hubload::hub_internal {

// Reads an index file (fetching it first when online) and returns its shards.
using IndexReader = std::function<Result<std::vector<std::string>>(const std::string& index_path)>;

// `available`: the repo's (or snapshot's) files. With allow_patterns the
// pattern selection is returned instead. With `require_listed`, a shard the
// index names but `available` lacks is a not_found error (online); offline the
// shard is returned anyway so the caller reports it missing.
Result<std::vector<std::string>> select_model_files(const std::vector<std::string>& available,
                                                     const DownloadOptions& options, const IndexReader& read_index,
                                                     bool require_listed);

// The distinct shard files of a weight index's "weight_map", validated as repo paths.
Result<std::vector<std::string>> weight_map_files(std::string_view index_json, std::string_view what);

}  // namespace hubload::hub_internal
