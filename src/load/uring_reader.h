// Private: batched positional reads through one io_uring, owned by one I/O
// thread. Thousands of small row reads cost ~4 µs of syscall each as preads;
// one io_uring_enter per batch amortises that. create() fails where the kernel
// refuses io_uring (ENOSYS, EPERM under seccomp or kernel.io_uring_disabled,
// no IORING_OP_READ before 5.6), and the caller falls back to pread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "hubload/error.h"

struct io_uring;

namespace hubload::load_internal {

// `length` bytes at `offset` of `fd` into `dest`; `path` names the file in errors.
// An O_DIRECT read of a file's last block asks for whole blocks past the end:
// it is complete once `needed` bytes came (0: all of `length`).
struct PositionalRead {
  int fd = -1;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
  std::byte* dest = nullptr;
  std::string_view path;
  std::uint64_t needed = 0;
};

class UringReader {
 public:
  // A ring of `depth` entries (reads in flight at once); unsupported when the
  // kernel does not allow io_uring here.
  static Result<UringReader> create(unsigned depth);

  UringReader(UringReader&&) noexcept = default;
  UringReader& operator=(UringReader&&) noexcept = default;
  UringReader(const UringReader&) = delete;
  UringReader& operator=(const UringReader&) = delete;
  ~UringReader() = default;

  // Reads every entry in full (any number, `depth` in flight at a time; short
  // reads are resubmitted for their remainder) and returns once none is in
  // flight, also on error. The ranges must lie within their files: an end of
  // file before a read's end is an io error, a failed read an errno error, both
  // naming the path and byte range.
  Status read_all(std::span<const PositionalRead> reads);

 private:
  struct Exit {
    void operator()(io_uring* ring) const noexcept;
  };
  UringReader(std::unique_ptr<io_uring, Exit> ring, unsigned depth) : ring_(std::move(ring)), depth_(depth) {}
  std::unique_ptr<io_uring, Exit> ring_;  // on the heap: liburing's struct stays put when the reader moves
  unsigned depth_ = 0;
};

}  // namespace hubload::load_internal
