// Finding repos and revisions of a scan by the names users type. Private.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hubload/cache_manage.h"

namespace hubload::cache_manage_internal {

// "org/name" (a model), "model/org/name", "dataset/org/name", "space/org/name";
// nullptr when the scan has no such repo.
const CachedRepo* find_repo(const CacheScan& scan, std::string_view target);

// The revisions a verify selects: every one of every repo, or of `repo`, or the
// one `revision` (a ref or a commit) names. not_found names what is unknown.
struct Selected {
  const CachedRepo* repo;
  const CachedRevision* revision;
};
Result<std::vector<Selected>> select_revisions(const CacheScan& scan, const std::optional<std::string>& repo,
                                               const std::optional<std::string>& revision);

}  // namespace hubload::cache_manage_internal
