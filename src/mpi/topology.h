// Who is who in a distributed job: the world, this rank's node and the node
// leaders, plus the two things every phase needs: a wait that polls instead of
// spinning, and the agreement on a status. Private to src/mpi.
#pragma once

#include <mpi.h>

#include <chrono>
#include <string>

#include "hubload/error.h"
#include "hubload/mpi.h"

namespace hubload::mpi_internal {

// A communicator this process created; freed on destruction (before
// MPI_Finalize, since a Topology lives inside one collective call).
class OwnedComm {
 public:
  OwnedComm() = default;
  explicit OwnedComm(MPI_Comm comm) : comm_(comm) {}
  OwnedComm(OwnedComm&& other) noexcept : comm_(other.comm_) { other.comm_ = MPI_COMM_NULL; }
  OwnedComm& operator=(OwnedComm&& other) noexcept;
  OwnedComm(const OwnedComm&) = delete;
  OwnedComm& operator=(const OwnedComm&) = delete;
  ~OwnedComm();
  MPI_Comm get() const { return comm_; }

 private:
  MPI_Comm comm_ = MPI_COMM_NULL;
};

struct Topology {
  MPI_Comm world = MPI_COMM_NULL;  // the caller's communicator
  int rank = 0, size = 1;
  OwnedComm node;  // the ranks of this node
  int node_rank = 0, node_size = 1;
  OwnedComm leaders;  // one rank per node (node_rank 0); MPI_COMM_NULL on the others
  int node_index = 0, nodes = 1;  // this node's rank in `leaders`, and the node count
  std::string host;
  std::chrono::microseconds poll{500};

  bool leader() const { return node_rank == 0; }
  // "rank 3 on host h1": how errors name where they happened.
  std::string where() const;
};

// Collective over options.comm. invalid_input when node_id is set on some
// ranks and not on others, or is negative.
Result<Topology> make_topology(const DistributedOptions& options);

// Waits for a non-blocking operation, sleeping `poll` between tests.
void wait_polling(MPI_Request* request, std::chrono::microseconds poll);

// Every rank's outcome of a phase → one outcome on every rank: the error of the
// lowest rank that failed on its own (secondary errors, those a rank only
// learnt from another, count only if there is nothing else), with its kind and
// message; ok when no rank failed. Collective over t.world.
Status agree(const Topology& t, const Status& mine, bool secondary = false);

// Rank `root`'s string on every rank of `comm`.
void broadcast_string(std::string& text, int root, MPI_Comm comm, std::chrono::microseconds poll);

// An error that happened here, naming the rank and host.
Error located(const Topology& t, const Error& error);

}  // namespace hubload::mpi_internal
