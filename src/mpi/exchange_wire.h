// What node leaders send each other besides blob bytes, and the error state
// of one leader's exchange. Private to src/mpi (blob_exchange.cpp, leader_messages.h).
#pragma once

#include <mpi.h>

#include <cstdint>
#include <cstdio>
#include <optional>
#include <vector>

#include "hubload/error.h"
#include "mpi/topology.h"

namespace hubload::mpi_internal {

// The first message of every transfer: the bytes follow, or they never will.
// After a header that is ok the blob comes in rounds: one message per chunk
// (a chunk of the wrong size, usually empty, says the round was cut short),
// then a trailer, a Header again: ok (the round was the whole blob), an error,
// or `again` (the sender's Hub download began again from byte 0, and so does
// a new round).
struct Header {
  std::int32_t ok = 1;
  std::int32_t kind = 0;
  std::int32_t again = 0;
  char message[500] = {};
};
static_assert(sizeof(Header) == 512);

inline Header error_header(const Error& error) {
  Header h;
  h.ok = 0;
  h.kind = static_cast<std::int32_t>(error.kind());
  std::snprintf(h.message, sizeof h.message, "%s", error.message().c_str());
  return h;
}

// The error an error header carries (its sender named the rank and host).
inline Error header_error(Header& h) {
  h.message[sizeof h.message - 1] = '\0';
  return Error(static_cast<ErrorKind>(h.kind), h.message);
}

inline bool all_done(std::vector<MPI_Request>& requests) {
  if (requests.empty()) return true;
  int done = 0;
  MPI_Testall(static_cast<int>(requests.size()), requests.data(), &done, MPI_STATUSES_IGNORE);
  if (done) requests.clear();
  return done != 0;
}

// The errors of this node so far: its own first, else the first it was told of.
class Failures {
 public:
  void own(Error e) {
    if (!own_) own_ = std::move(e);
  }
  void told(Error e) {
    if (!told_) told_ = std::move(e);
  }
  bool any() const { return own_ || told_; }
  bool any_own() const { return own_.has_value(); }
  // What to tell the receivers of a transfer that will not come: our own
  // error, located, or the one we were told (located where it happened).
  Error for_peers(const Topology& t) const { return own_ ? located(t, *own_) : *told_; }
  void finish(ExchangeOutcome& out) const {
    if (own_) out.status = *own_;
    else if (told_) {
      out.status = *told_;
      out.secondary = true;
    }
  }

 private:
  std::optional<Error> own_, told_;
};

}  // namespace hubload::mpi_internal
