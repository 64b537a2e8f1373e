// O_DIRECT needs offsets, lengths and buffers aligned as the file system says;
// statx reports it (Linux 6.1), and a file system that reports nothing is read
// through the page cache rather than guessed at.
#include "load/direct_io.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <vector>

#include "hubload/load.h"

namespace hubload::load_internal {
namespace {
// resident_fraction looks at up to this many windows of this many pages.
constexpr std::uint64_t kResidencyWindows = 64;
constexpr std::uint64_t kResidencyWindowPages = 64;
}  // namespace

Result<DirectFile> open_direct(const std::filesystem::path& path) {
  struct statx st {};
  if (::statx(AT_FDCWD, path.c_str(), 0, STATX_DIOALIGN, &st) != 0)
    return errno_error("statx " + path.string(), errno);
  if ((st.stx_mask & STATX_DIOALIGN) == 0 || st.stx_dio_offset_align == 0 || st.stx_dio_mem_align == 0)
    return unsupported(path.string() + ": the file system reports no direct-I/O alignment");
  // Bounce buffers are page-aligned host buffers; a larger demand is not worth meeting.
  if (st.stx_dio_mem_align > HostBuffer::kAlignment || st.stx_dio_offset_align > HostBuffer::kAlignment)
    return unsupported(path.string() + ": direct I/O would need buffers aligned beyond a page");
  DirectFile f;
  f.fd.reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_DIRECT));
  if (!f.fd.valid()) {
    const int e = errno;
    if (e == EINVAL) return unsupported(path.string() + ": the file system refuses O_DIRECT");
    return errno_error("open " + path.string() + " with O_DIRECT", e);
  }
  f.offset_align = st.stx_dio_offset_align;
  f.memory_align = st.stx_dio_mem_align;
  return f;
}

Result<double> resident_fraction(const std::filesystem::path& path) {
  HUBLOAD_ASSIGN_OR_RETURN(MappedFile map, MappedFile::open(path));
  if (map.size() == 0) return 1.0;
  const auto page = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
  const std::uint64_t pages = (map.size() + page - 1) / page;
  // mincore looks each page up in the page cache: all of a 2 GiB file's costs
  // ~20 ms, as much as loading a rank's share at W = 8. Evenly spread windows
  // answer "mostly cached or not" as well.
  const std::uint64_t windows =
      std::min(kResidencyWindows, (pages + kResidencyWindowPages - 1) / kResidencyWindowPages);
  std::vector<unsigned char> state(kResidencyWindowPages);
  std::uint64_t in = 0, seen = 0;
  for (std::uint64_t w = 0; w < windows; ++w) {
    const std::uint64_t first = pages * w / windows;
    const std::uint64_t count = std::min(kResidencyWindowPages, pages * (w + 1) / windows - first);
    auto* at = const_cast<std::byte*>(map.bytes().data()) + first * page;
    if (::mincore(at, std::min(count * page, map.size() - first * page), state.data()) != 0)
      return errno_error("mincore " + path.string(), errno);
    for (std::uint64_t i = 0; i < count; ++i) in += state[i] & 1u;
    seen += count;
  }
  return static_cast<double>(in) / static_cast<double>(seen);
}

}  // namespace hubload::load_internal
