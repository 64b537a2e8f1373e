// O_DIRECT needs offsets, lengths and buffers aligned as the file system says;
// statx reports it (Linux 6.1), and a file system that reports nothing is read
// through the page cache rather than guessed at.
#include "load/direct_io.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

#include "hubload/load.h"

namespace hubload::load_internal {

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
  const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  std::vector<unsigned char> pages((map.size() + page - 1) / page);
  if (::mincore(const_cast<std::byte*>(map.bytes().data()), map.size(), pages.data()) != 0)
    return errno_error("mincore " + path.string(), errno);
  std::size_t in = 0;
  for (unsigned char p : pages) in += p & 1u;
  return static_cast<double>(in) / static_cast<double>(pages.size());
}

}  // namespace hubload::load_internal
