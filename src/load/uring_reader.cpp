// UringReader: keep up to `depth` positional reads in flight, one
// io_uring_enter per round, resubmitting the remainder of short reads.
#include "load/uring_reader.h"

#include <liburing.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

namespace hubload::load_internal {
namespace {

constexpr std::uint64_t kMaxSqeBytes = 1u << 30;  // an SQE's length is 32-bit; longer reads go in pieces

std::string describe(const PositionalRead& r) {
  return std::string(r.path) + " bytes [" + std::to_string(r.offset) + ", " + std::to_string(r.offset + r.length) +
         ")";
}

std::uint64_t needed(const PositionalRead& r) { return r.needed == 0 ? r.length : std::min(r.needed, r.length); }

}  // namespace

void UringReader::Exit::operator()(io_uring* ring) const noexcept {
  io_uring_queue_exit(ring);
  delete ring;
}

Result<UringReader> UringReader::create(unsigned depth) {
  if (depth == 0) return invalid_input("an io_uring needs a depth of at least 1");
  auto raw = std::make_unique<io_uring>();
  if (int rc = io_uring_queue_init(depth, raw.get(), 0); rc < 0)
    return unsupported(std::string("io_uring is not available here: ") + std::strerror(-rc));
  std::unique_ptr<io_uring, Exit> ring(raw.release());
  io_uring_probe* probe = io_uring_get_probe_ring(ring.get());
  const bool can_read = probe != nullptr && io_uring_opcode_supported(probe, IORING_OP_READ);
  if (probe != nullptr) io_uring_free_probe(probe);
  if (!can_read) return unsupported("this kernel's io_uring has no positional read (IORING_OP_READ, Linux 5.6)");
  return UringReader(std::move(ring), depth);
}

Status UringReader::read_all(std::span<const PositionalRead> reads) {
  if (!ring_) return io_error("io_uring reader used after it was closed by an earlier failure");
  io_uring* ring = ring_.get();
  std::vector<std::uint64_t> done(reads.size(), 0);
  std::vector<std::size_t> again;  // reads whose remainder still has to be submitted
  std::size_t next = 0;
  std::size_t in_flight = 0;  // queued or submitted, not yet completed
  std::optional<Error> error;
  // After an error nothing new is submitted, but the loop still waits for every
  // read in flight: the kernel writes into the callers' buffers until then.
  for (;;) {
    while (!error && in_flight < depth_ && (!again.empty() || next < reads.size())) {
      std::size_t i = next;
      if (!again.empty()) {
        i = again.back();
        again.pop_back();
      } else {
        ++next;
      }
      const PositionalRead& r = reads[i];
      if (r.length == 0) continue;
      io_uring_sqe* sqe = io_uring_get_sqe(ring);  // never null: at most depth_ queued
      const std::uint64_t left = r.length - done[i];
      io_uring_prep_read(sqe, r.fd, r.dest + done[i], static_cast<unsigned>(std::min(left, kMaxSqeBytes)),
                         r.offset + done[i]);
      io_uring_sqe_set_data64(sqe, i);
      ++in_flight;
    }
    if (in_flight == 0) break;
    if (int rc = io_uring_submit_and_wait(ring, 1); rc < 0 && rc != -EINTR) {
      // The kernel refused the queue: wait out what it already took, then close
      // the ring so the unsubmitted entries can never run later.
      Error failed = errno_error("io_uring_enter for " + std::to_string(reads.size()) + " reads from " + describe(reads[0]), -rc);
      for (std::size_t held = in_flight - io_uring_sq_ready(ring); held > 0; --held) {
        io_uring_cqe* cqe = nullptr;
        if (io_uring_wait_cqe(ring, &cqe) < 0) break;
        io_uring_cqe_seen(ring, cqe);
      }
      ring_.reset();
      return error ? std::move(*error) : std::move(failed);
    }
    unsigned head = 0;
    unsigned seen = 0;
    io_uring_cqe* cqe = nullptr;
    io_uring_for_each_cqe(ring, head, cqe) {
      ++seen;
      --in_flight;
      const std::size_t i = static_cast<std::size_t>(io_uring_cqe_get_data64(cqe));
      const PositionalRead& r = reads[i];
      const int res = cqe->res;
      if (res == -EINTR) {
        again.push_back(i);
      } else if (res < 0) {
        if (!error) error = errno_error(describe(r) + " at offset " + std::to_string(r.offset + done[i]), -res);
      } else if (res == 0) {
        if (!error && done[i] < needed(r))
          error = io_error(describe(r) + ": unexpected end of file at offset " + std::to_string(r.offset + done[i]));
      } else {
        done[i] += static_cast<std::uint64_t>(res);
        // A short read past `needed` met the end of the file: resubmitting at an
        // unaligned offset would fail with O_DIRECT.
        if (done[i] < needed(r)) again.push_back(i);
      }
    }
    io_uring_cq_advance(ring, seen);
  }
  if (error) return std::move(*error);
  return ok();
}

}  // namespace hubload::load_internal
