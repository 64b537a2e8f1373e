// Turns a raw request target into what it asks for. Pure: no I/O, so the
// parsing rules (percent-encoded revisions, legacy one-part repo ids, raw or
// %2F-encoded tree paths, traversal attempts) are table-tested.
#pragma once

#include <string>
#include <string_view>

#include "hubload/cache.h"

namespace hubload::serve_internal {

struct Route {
  enum class Kind { resolve, repo_info, tree, refs, paths_info, stats, unknown, bad_path };
  Kind kind = Kind::unknown;
  RepoType type = RepoType::model;
  std::string repo_id;
  std::string revision;        // decoded; empty means "main"
  std::string path;            // decoded repo path (resolve, tree)
  // The raw target around the repo id, so a rename can answer prefix + new id + suffix.
  std::string raw_prefix;
  std::string raw_suffix;
};

// `target` is the request target as sent ("/acme/tiny/resolve/refs%2Fpr%2F1/a.txt?x=1").
Route parse_route(std::string_view target);

}  // namespace hubload::serve_internal
