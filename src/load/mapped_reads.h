// Private: copies out of a read-only mapping of a checkpoint file, for the
// mmap method and for pread-method loads of files already in the page cache.
// The kernel's copy of a pread runs at ~0.65 x a user-space memcpy here whenever
// the file offset and the destination differ in alignment mod 32 (a safetensors
// header has any length, arena tensors are 256-aligned), and costs a system call
// per row; a populated mapping costs neither (bench/RESULTS.md, session 7).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "hubload/error.h"
#include "hubload/file.h"
#include "load/read_tasks.h"

namespace hubload::load_internal {

// Delivers one piece from `src`: a copy, or a conversion where the dtypes differ.
Status deliver(const Piece& p, const std::byte* src);

// Runs the tasks of `batch` whose file has a mapping (`maps[task.file]`, null:
// none) and that lie within it: maps the page cache's pages into each group of
// consecutive tasks of one file with one MADV_POPULATE_READ (so the copies take
// no page faults), then copies the pieces out. `done[i]` is set for each task
// run; the others (no mapping, out of range, population refused: a kernel before
// 5.14, an I/O error, a file that shrank) are left for the caller's pread path,
// which reports real errors. A file truncated between the population and the
// copy raises SIGBUS, as with any mapping (ReadMethod::mmap).
Status copy_mapped(std::span<const ReadTask> batch, const std::vector<const MappedFile*>& maps,
                   std::vector<bool>& done);

}  // namespace hubload::load_internal
