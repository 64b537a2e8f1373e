// Partial downloads in a blobs/ folder and whether anyone still owns them.
// Private to the cache-management code (scan, prune).
#pragma once

#include <chrono>
#include <filesystem>
#include <string_view>
#include <vector>

#include "hubload/cache_manage.h"

namespace hubload::cache_manage_internal {

// True for every name a writer uses while a blob is in flight: 0.3x's
// `<etag>.incomplete`, 1.x's and hubload's `<etag>.<8 hex>.incomplete`, and
// hubload's `<etag>.<8 hex>.journal.incomplete`.
bool is_partial_name(std::string_view name);

// The partials among `names` (entries of `blobs_dir`), one per writer, each
// marked stale when its owner is gone (journal: same host and the pid dead, or
// a journal from an earlier boot) or, with no owner to ask, when untouched for
// longer than `window`.
std::vector<CachedPartial> classify_partials(const std::filesystem::path& blobs_dir,
                                             const std::vector<std::string>& names, std::chrono::seconds window);

}  // namespace hubload::cache_manage_internal
