#include "mpi/run_stream.h"

#include <algorithm>

#include "mpi/topology.h"

namespace hubload::mpi_internal {
namespace {

// Walks the runs a stretch of the stream at a time: consecutive calls carry on
// where the last one stopped, within a run if need be.
class RunCursor {
 public:
  explicit RunCursor(const std::vector<StreamRun>& runs) : runs_(runs) {}

  // f(file offset, dest, offset in the message, n) for the next `bytes` bytes of
  // the stream, one piece per run they touch.
  template <typename F>
  void next(std::uint64_t bytes, F&& f) {
    std::uint64_t at = 0;
    while (at < bytes) {
      const StreamRun& run = runs_[index_];
      const std::uint64_t n = std::min(run.length - within_, bytes - at);
      f(run.file_offset + within_, run.dest + within_, at, n);
      at += n;
      within_ += n;
      if (within_ == run.length) {
        ++index_;
        within_ = 0;
      }
    }
  }

 private:
  const std::vector<StreamRun>& runs_;
  std::size_t index_ = 0;
  std::uint64_t within_ = 0;
};

// The messages of one stream, and the buffers of those in flight: slot k % slots
// holds message k.
struct Messages {
  Messages(const std::vector<StreamRun>& runs, const StreamOptions& options)
      : total(stream_bytes(runs)),
        size(options.message_bytes),
        count((total + size - 1) / size),
        buffers(std::min<std::uint64_t>(options.window, count)),
        requests(buffers.size(), MPI_REQUEST_NULL) {}

  std::size_t slot(std::uint64_t k) const { return k % buffers.size(); }
  int length(std::uint64_t k) const { return static_cast<int>(std::min(size, total - k * size)); }

  std::uint64_t total, size, count;
  std::vector<std::vector<std::byte>> buffers;
  std::vector<MPI_Request> requests;
};

}  // namespace

std::vector<StreamRun> runs_in_file(const RankPlan& rank, const std::vector<std::uint64_t>& offsets,
                                    std::string_view file) {
  std::vector<StreamRun> runs;
  for (std::size_t i = 0; i < rank.tensors.size(); ++i) {
    if (rank.tensors[i].file != file) continue;
    for (const ByteRun& run : rank.tensors[i].runs) {
      if (run.length > 0) runs.push_back({run.file_offset, run.length, offsets[i] + run.dest_offset});
    }
  }
  return runs;
}

std::uint64_t stream_bytes(const std::vector<StreamRun>& runs) {
  std::uint64_t total = 0;
  for (const StreamRun& run : runs) total += run.length;
  return total;
}

void send_stream(std::span<const std::byte> file, const std::vector<StreamRun>& runs, int to, int tag, MPI_Comm comm,
                 const StreamOptions& options) {
  Messages m(runs, options);
  RunCursor cursor(runs);
  for (std::uint64_t k = 0; k < m.count; ++k) {
    const std::size_t slot = m.slot(k);
    if (m.requests[slot] != MPI_REQUEST_NULL) wait_polling(&m.requests[slot], options.poll);
    std::vector<std::byte>& buffer = m.buffers[slot];
    buffer.resize(m.length(k));
    cursor.next(buffer.size(), [&](std::uint64_t from, std::uint64_t, std::uint64_t at, std::uint64_t n) {
      std::copy_n(file.data() + from, n, buffer.data() + at);
    });
    MPI_Isend(buffer.data(), m.length(k), MPI_BYTE, to, tag, comm, &m.requests[slot]);
  }
  for (MPI_Request& request : m.requests) {
    if (request != MPI_REQUEST_NULL) wait_polling(&request, options.poll);
  }
}

void receive_stream(std::byte* storage, const std::vector<StreamRun>& runs, int from, int tag, MPI_Comm comm,
                    const StreamOptions& options) {
  Messages m(runs, options);
  // Messages from one sender with one tag match the receives in the order they
  // were posted, so the k-th receive gets the k-th piece of the stream.
  const auto post = [&m, from, tag, comm](std::uint64_t k) {
    std::vector<std::byte>& buffer = m.buffers[m.slot(k)];
    buffer.resize(m.length(k));
    MPI_Irecv(buffer.data(), m.length(k), MPI_BYTE, from, tag, comm, &m.requests[m.slot(k)]);
  };
  for (std::uint64_t k = 0; k < m.buffers.size(); ++k) post(k);
  RunCursor cursor(runs);
  for (std::uint64_t k = 0; k < m.count; ++k) {
    wait_polling(&m.requests[m.slot(k)], options.poll);
    const std::vector<std::byte>& buffer = m.buffers[m.slot(k)];
    cursor.next(buffer.size(), [&](std::uint64_t, std::uint64_t dest, std::uint64_t at, std::uint64_t n) {
      std::copy_n(buffer.data() + at, n, storage + dest);
    });
    if (k + m.buffers.size() < m.count) post(k + m.buffers.size());
  }
}

}  // namespace hubload::mpi_internal
