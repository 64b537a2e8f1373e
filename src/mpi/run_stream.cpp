#include "mpi/run_stream.h"

#include <algorithm>

#include "mpi/topology.h"

namespace hubload::mpi_internal {
namespace {

// Runs at least this long travel in place: sent straight out of the file's
// bytes and received straight into the rank's storage. Shorter ones (a
// row-parallel slice's rows) are packed together, since a message per row
// would cost more than the two copies.
constexpr std::uint64_t kInPlaceRun = 256u << 10;

// One message of a stream: a piece of one long run, in place, or whole short
// runs packed together.
struct Message {
  std::size_t first = 0, end = 0;  // runs [first, end)
  std::uint64_t within = 0;        // in place: where in run `first` the piece starts
  std::uint64_t length = 0;
  bool in_place = false;
};

// Both ends cut the same runs into the same messages.
std::vector<Message> cut(const std::vector<StreamRun>& runs, std::uint64_t message_bytes) {
  const std::uint64_t in_place = std::min(kInPlaceRun, message_bytes);
  std::vector<Message> messages;
  Message packed;
  const auto flush = [&messages, &packed](std::size_t next) {
    if (packed.length > 0) messages.push_back(packed);
    packed = Message{next, next, 0, 0, false};
  };
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const std::uint64_t length = runs[i].length;
    if (length >= in_place) {
      flush(i);
      for (std::uint64_t at = 0; at < length; at += message_bytes) {
        messages.push_back({i, i + 1, at, std::min(message_bytes, length - at), true});
      }
      flush(i + 1);
      continue;
    }
    if (packed.length + length > message_bytes) flush(i);
    packed.end = i + 1;
    packed.length += length;
  }
  flush(runs.size());
  return messages;
}

// The messages of a stream in flight, `window` at most: slot k % slots holds
// message k (its buffer, when packed).
struct InFlight {
  InFlight(std::size_t messages, int window)
      : buffers(std::min<std::size_t>(window, messages)), requests(buffers.size(), MPI_REQUEST_NULL) {}
  std::size_t slot(std::size_t k) const { return k % buffers.size(); }

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
  const std::vector<Message> messages = cut(runs, options.message_bytes);
  InFlight flight(messages.size(), options.window);
  for (std::size_t k = 0; k < messages.size(); ++k) {
    const Message& m = messages[k];
    const std::size_t slot = flight.slot(k);
    if (flight.requests[slot] != MPI_REQUEST_NULL) wait_polling(&flight.requests[slot], options.poll);
    const std::byte* data = file.data() + runs[m.first].file_offset + m.within;
    if (!m.in_place) {
      std::vector<std::byte>& buffer = flight.buffers[slot];
      buffer.resize(m.length);
      std::byte* at = buffer.data();
      for (std::size_t i = m.first; i < m.end; ++i) at = std::copy_n(file.data() + runs[i].file_offset, runs[i].length, at);
      data = buffer.data();
    }
    MPI_Isend(data, static_cast<int>(m.length), MPI_BYTE, to, tag, comm, &flight.requests[slot]);
  }
  for (MPI_Request& request : flight.requests) {
    if (request != MPI_REQUEST_NULL) wait_polling(&request, options.poll);
  }
}

void receive_stream(std::byte* storage, const std::vector<StreamRun>& runs, int from, int tag, MPI_Comm comm,
                    const StreamOptions& options) {
  const std::vector<Message> messages = cut(runs, options.message_bytes);
  InFlight flight(messages.size(), options.window);
  // Messages from one sender with one tag match the receives in the order they
  // were posted, so the k-th receive gets the k-th message.
  const auto post = [&](std::size_t k) {
    const Message& m = messages[k];
    std::byte* into = storage + runs[m.first].dest + m.within;
    if (!m.in_place) {
      flight.buffers[flight.slot(k)].resize(m.length);
      into = flight.buffers[flight.slot(k)].data();
    }
    MPI_Irecv(into, static_cast<int>(m.length), MPI_BYTE, from, tag, comm, &flight.requests[flight.slot(k)]);
  };
  for (std::size_t k = 0; k < flight.buffers.size(); ++k) post(k);
  for (std::size_t k = 0; k < messages.size(); ++k) {
    const Message& m = messages[k];
    wait_polling(&flight.requests[flight.slot(k)], options.poll);
    if (!m.in_place) {
      const std::byte* at = flight.buffers[flight.slot(k)].data();
      for (std::size_t i = m.first; i < m.end; ++i) {
        std::copy_n(at, runs[i].length, storage + runs[i].dest);
        at += runs[i].length;
      }
    }
    if (k + flight.buffers.size() < messages.size()) post(k + flight.buffers.size());
  }
}

}  // namespace hubload::mpi_internal
