// A rank's byte runs in one checkpoint file, as one stream of bytes: what a
// node that read the file sends a rank on a node without it, cut into
// messages. Sender and receiver compute the same runs from the same plan, in
// the same order, so only the bytes travel. Private to src/mpi.
#pragma once

#include <mpi.h>

#include <chrono>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "hubload/plan.h"

namespace hubload::mpi_internal {

struct StreamRun {
  std::uint64_t file_offset = 0;
  std::uint64_t length = 0;
  std::uint64_t dest = 0;  // offset in the rank's storage
};

// `rank`'s runs in `file`, in plan order; `offsets`: where each of its tensors
// starts in the rank's storage.
std::vector<StreamRun> runs_in_file(const RankPlan& rank, const std::vector<std::uint64_t>& offsets,
                                    std::string_view file);
std::uint64_t stream_bytes(const std::vector<StreamRun>& runs);

struct StreamOptions {
  std::uint64_t message_bytes = 8ull << 20;
  int window = 4;  // messages in flight
  std::chrono::microseconds poll{500};
};

// The stream of `runs` out of `file` to world rank `to`, all with `tag`, in
// messages of at most message_bytes: long runs cut into pieces that go out of
// `file` and into the receiver's storage in place, short runs packed. Returns
// once all are sent.
void send_stream(std::span<const std::byte> file, const std::vector<StreamRun>& runs, int to, int tag, MPI_Comm comm,
                 const StreamOptions& options);

// The same stream from `from`, each byte to storage + its run's dest.
void receive_stream(std::byte* storage, const std::vector<StreamRun>& runs, int from, int tag, MPI_Comm comm,
                    const StreamOptions& options);

}  // namespace hubload::mpi_internal
