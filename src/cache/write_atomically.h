// Small cache files (refs, hubload's own metadata) written through a sibling
// temp name and a rename, so a reader never sees a half-written file. Private.
#pragma once

#include <filesystem>
#include <string_view>

#include "hubload/error.h"

namespace hubload::cache_internal {

// Creates the parent folders; the file gets the umask's mode (0666 & ~umask).
Status write_atomically(const std::filesystem::path& path, std::string_view content);

}  // namespace hubload::cache_internal
