// The two kinds of message between node leaders that are not blob bytes:
// notices (an error, or "done") and progress reports. Private to src/mpi.
#pragma once

#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <vector>

#include "mpi/blob_exchange.h"
#include "mpi/exchange_wire.h"

namespace hubload::mpi_internal {

// Every leader sends every other leader exactly one notice (tag 0): its first
// own error as soon as it happens, so that the others stop starting Hub
// fetches within a poll, or "done" when its part of the plan is over. Each
// leader receives one notice from every other before it returns, so no message
// is left unmatched.
class Notices {
 public:
  static constexpr int kTag = 0;

  explicit Notices(const ExchangeSetup& s) : s_(s), received_(s.topology->nodes) {
    for (int n = 0; n < s_.topology->nodes; ++n) {
      if (n == s_.topology->node_index) continue;
      MPI_Request request;
      MPI_Irecv(&received_[n], sizeof(Header), MPI_BYTE, n, kTag, s_.topology->leaders.get(), &request);
      pending_.push_back(request);
    }
  }

  bool sent() const { return sent_; }
  void send(const Header& notice) {
    if (sent_) return;
    sent_ = true;
    notice_ = notice;
    for (int n = 0; n < s_.topology->nodes; ++n) {
      if (n == s_.topology->node_index) continue;
      MPI_Request request;
      MPI_Isend(&notice_, sizeof notice_, MPI_BYTE, n, kTag, s_.topology->leaders.get(), &request);
      sends_.push_back(request);
    }
  }

  // Takes the notices that arrived; an error notice is an error we are told of.
  bool step(Failures& failures) {
    bool moved = false;
    for (MPI_Request& request : pending_) {
      if (request == MPI_REQUEST_NULL) continue;
      int arrived = 0;
      MPI_Status status;
      MPI_Test(&request, &arrived, &status);
      if (!arrived) continue;
      Header& h = received_[status.MPI_SOURCE];
      if (!h.ok) {
        failures.told(header_error(h));
      }
      moved = true;
    }
    return moved;
  }

  bool complete() {
    return all_done(sends_) &&
           std::all_of(pending_.begin(), pending_.end(), [](MPI_Request r) { return r == MPI_REQUEST_NULL; });
  }

 private:
  const ExchangeSetup& s_;
  std::vector<Header> received_;
  std::vector<MPI_Request> pending_;  // MPI_REQUEST_NULL once received
  Header notice_;
  std::vector<MPI_Request> sends_;
  bool sent_ = false;
};

// Each leader's counts go to node 0's leader (one message at a time, at most 4
// a second, and a last one when its transfers are over), which sums them for
// on_progress. Node 0's leader waits for every last message, so none is left
// unmatched.
class ProgressReports {
 public:
  struct Counts {
    std::uint64_t hub = 0, fabric = 0;
    std::uint64_t last = 0;
  };

  explicit ProgressReports(const ExchangeSetup& s) : s_(s), counts_(s.topology->nodes) {
    for (const BlobTransfer& t : *s.plan) {
      const std::uint64_t size = (*s.blobs)[t.blob].size;
      if (t.from_hub) total_.hub_total += size;
      total_.fabric_total += size * t.receivers.size();
    }
    if (collector() && s.topology->nodes > 1) post();
  }

  // `over`: this leader's transfers are all done.
  bool step(const ExchangeOutcome& out, bool over) {
    const auto now = std::chrono::steady_clock::now();
    const Counts mine{s_.hub_done ? s_.hub_done->load() : 0, out.fabric_received + out.fabric_resumed, over ? 1u : 0u};
    bool moved = false;
    if (!collector()) {
      if (last_sent_ || !all_done(send_)) return false;
      if (!over && (now - sent_at_ < std::chrono::milliseconds(250) ||
                    (mine.hub == sending_.hub && mine.fabric == sending_.fabric))) {
        return false;
      }
      sending_ = mine;
      last_sent_ = over;
      sent_at_ = now;
      MPI_Request request;
      MPI_Isend(&sending_, sizeof sending_, MPI_BYTE, 0, s_.progress_tag, s_.topology->leaders.get(), &request);
      send_.push_back(request);
      return true;
    }
    counts_[0] = mine;
    while (receive_ != MPI_REQUEST_NULL) {
      int arrived = 0;
      MPI_Status status;
      MPI_Test(&receive_, &arrived, &status);
      if (!arrived) break;
      counts_[status.MPI_SOURCE] = incoming_;
      if (incoming_.last) ++lasts_;
      if (lasts_ < s_.topology->nodes - 1) post();
      moved = true;
    }
    const bool final = complete() && over;
    if (s_.on_progress && !reported_final_ && (final || now - reported_at_ >= std::chrono::milliseconds(200))) {
      JobProgress p = total_;
      for (const Counts& c : counts_) {
        p.hub_bytes += c.hub;
        p.fabric_bytes += c.fabric;
      }
      s_.on_progress(p);
      reported_at_ = now;
      reported_final_ = final;
    }
    return moved;
  }

  bool complete() {
    return collector() ? lasts_ == s_.topology->nodes - 1 : last_sent_ && all_done(send_);
  }

 private:
  bool collector() const { return s_.topology->node_index == 0; }
  void post() {
    MPI_Irecv(&incoming_, sizeof incoming_, MPI_BYTE, MPI_ANY_SOURCE, s_.progress_tag, s_.topology->leaders.get(),
              &receive_);
  }

  const ExchangeSetup& s_;
  JobProgress total_;
  std::vector<Counts> counts_;  // per node (node 0's leader)
  Counts incoming_, sending_;
  MPI_Request receive_ = MPI_REQUEST_NULL;
  std::vector<MPI_Request> send_;
  int lasts_ = 0;
  bool last_sent_ = false, reported_final_ = false;
  std::chrono::steady_clock::time_point sent_at_{}, reported_at_{};
};

}  // namespace hubload::mpi_internal
