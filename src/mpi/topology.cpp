#include "mpi/topology.h"

#include <unistd.h>

#include <array>
#include <climits>
#include <thread>
#include <vector>

#include <fmt/format.h>

namespace hubload::mpi_internal {

OwnedComm& OwnedComm::operator=(OwnedComm&& other) noexcept {
  if (this != &other) {
    if (comm_ != MPI_COMM_NULL) MPI_Comm_free(&comm_);
    comm_ = other.comm_;
    other.comm_ = MPI_COMM_NULL;
  }
  return *this;
}

OwnedComm::~OwnedComm() {
  if (comm_ != MPI_COMM_NULL) MPI_Comm_free(&comm_);
}

std::string Topology::where() const { return fmt::format("rank {} on host {}", rank, host); }

Error located(const Topology& t, const Error& error) {
  return Error(error.kind(), fmt::format("{}: {}", t.where(), error.message()));
}

void wait_polling(MPI_Request* request, std::chrono::microseconds poll) {
  int done = 0;
  for (;;) {
    MPI_Test(request, &done, MPI_STATUS_IGNORE);
    if (done) return;
    std::this_thread::sleep_for(poll);
  }
}

void broadcast_string(std::string& text, int root, MPI_Comm comm, std::chrono::microseconds poll) {
  // Strings here are manifests and error messages: far below 2 GiB.
  unsigned long long length = text.size();
  MPI_Request request;
  MPI_Ibcast(&length, 1, MPI_UNSIGNED_LONG_LONG, root, comm, &request);
  wait_polling(&request, poll);
  text.resize(length);
  if (length == 0) return;
  MPI_Ibcast(text.data(), static_cast<int>(length), MPI_CHAR, root, comm, &request);
  wait_polling(&request, poll);
}

namespace {

std::string host_name() {
  std::array<char, 256> name{};
  if (::gethostname(name.data(), name.size() - 1) != 0) return "unknown";
  return name.data();
}

int allreduce_int(int value, MPI_Op op, MPI_Comm comm, std::chrono::microseconds poll) {
  int out = 0;
  MPI_Request request;
  MPI_Iallreduce(&value, &out, 1, MPI_INT, op, comm, &request);
  wait_polling(&request, poll);
  return out;
}

}  // namespace

Result<Topology> make_topology(const DistributedOptions& options) {
  Topology t;
  t.world = options.comm;
  t.poll = options.poll_interval;
  t.host = host_name();
  MPI_Comm_rank(t.world, &t.rank);
  MPI_Comm_size(t.world, &t.size);
  // Checked together, so that every rank returns the same error (or none).
  const int has_id = options.node_id ? 1 : 0;
  const int bad_id = options.node_id && *options.node_id < 0 ? 1 : 0;
  const int min_has = allreduce_int(has_id, MPI_MIN, t.world, t.poll);
  const int max_has = allreduce_int(has_id, MPI_MAX, t.world, t.poll);
  const int any_bad = allreduce_int(bad_id, MPI_MAX, t.world, t.poll);
  if (min_has != max_has) {
    return invalid_input("HUBLOAD_NODE_ID is set on some ranks and not on others: set it on every rank or on none");
  }
  if (any_bad) return invalid_input("HUBLOAD_NODE_ID must be a non-negative integer on every rank");
  MPI_Comm node = MPI_COMM_NULL;
  if (options.node_id) {
    MPI_Comm_split(t.world, *options.node_id, t.rank, &node);
  } else {
    MPI_Comm_split_type(t.world, MPI_COMM_TYPE_SHARED, t.rank, MPI_INFO_NULL, &node);
  }
  t.node = OwnedComm(node);
  MPI_Comm_rank(node, &t.node_rank);
  MPI_Comm_size(node, &t.node_size);
  MPI_Comm leaders = MPI_COMM_NULL;
  MPI_Comm_split(t.world, t.leader() ? 0 : MPI_UNDEFINED, t.rank, &leaders);
  t.leaders = OwnedComm(leaders);
  std::array<int, 2> index{0, 1};
  if (t.leader()) {
    MPI_Comm_rank(leaders, &index[0]);
    MPI_Comm_size(leaders, &index[1]);
  }
  MPI_Request request;
  MPI_Ibcast(index.data(), 2, MPI_INT, 0, node, &request);
  wait_polling(&request, t.poll);
  t.node_index = index[0];
  t.nodes = index[1];
  return t;
}

Status agree(const Topology& t, const Status& mine, bool secondary) {
  // Per rank: {level (0 ok, 1 secondary, 2 own), kind}.
  std::array<int, 2> own{0, 0};
  if (!mine) own = {secondary ? 1 : 2, static_cast<int>(mine.error().kind())};
  std::vector<int> all(2 * static_cast<std::size_t>(t.size));
  MPI_Request request;
  MPI_Iallgather(own.data(), 2, MPI_INT, all.data(), 2, MPI_INT, t.world, &request);
  wait_polling(&request, t.poll);
  int root = -1;
  for (int level = 2; level >= 1 && root < 0; --level) {
    for (int r = 0; r < t.size; ++r) {
      if (all[2 * r] == level) {
        root = r;
        break;
      }
    }
  }
  if (root < 0) return ok();
  std::string message;
  if (root == t.rank) message = secondary ? mine.error().message() : located(t, mine.error()).message();
  broadcast_string(message, root, t.world, t.poll);
  return Error(static_cast<ErrorKind>(all[2 * root + 1]), std::move(message));
}

}  // namespace hubload::mpi_internal
