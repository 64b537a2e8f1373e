// Private: the cold-load path's file handles. A second descriptor opened with
// O_DIRECT, with the alignment the file system asks of offsets and buffers
// (statx STATX_DIOALIGN), and whether a file is already in the page cache.
#pragma once

#include <cstdint>
#include <filesystem>

#include "hubload/error.h"
#include "hubload/file.h"

namespace hubload::load_internal {

struct DirectFile {
  UniqueFd fd;
  std::uint32_t offset_align = 0;  // file offsets and lengths are multiples of this
  std::uint32_t memory_align = 0;  // buffer addresses are multiples of this
};

// unsupported where the file system reports no direct-I/O alignment (tmpfs,
// many network file systems) or refuses O_DIRECT; the caller reads through the
// page cache then.
Result<DirectFile> open_direct(const std::filesystem::path& path);

// The fraction of the file's pages in the page cache (mincore over a mapping,
// which faults nothing in), estimated from evenly spread windows of pages (all
// of them in a file of up to 4,096); 1 for an empty file.
Result<double> resident_fraction(const std::filesystem::path& path);

}  // namespace hubload::load_internal
