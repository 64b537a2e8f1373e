#include "mpi/blob_exchange.h"

#include <algorithm>
#include <atomic>
#include <deque>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "mpi/exchange_wire.h"
#include "mpi/growing_blob.h"
#include "mpi/incoming_blob.h"
#include "mpi/leader_messages.h"
#include "mpi/outgoing_blob.h"

namespace hubload::mpi_internal {
namespace {

// This node's Hub share, fetched by one engine call on a thread of its own;
// the MPI thread collects each blob's outcome as it comes.
class HubFetcher {
 public:
  using Share = std::vector<std::pair<std::size_t, std::shared_ptr<GrowingBlob>>>;  // transfer, its download
  HubFetcher(const ExchangeSetup& s, Share transfers) : s_(s), transfers_(std::move(transfers)) {
    ended_.assign(transfers_.size(), false);
    if (!transfers_.empty()) thread_ = std::jthread([this] { run(); });
  }

  void cancel() { cancelled_ = true; }

  struct Fetched {
    std::size_t transfer = 0;
    std::optional<Error> failure;
    bool skipped = false;  // not fetched: an earlier error stopped the share
  };
  // Transfers fetched (or skipped) since the last call.
  std::vector<Fetched> take() {
    std::lock_guard lock(mu_);
    return std::exchange(results_, {});
  }

 private:
  void run() {
    HubShare share;
    for (const auto& entry : transfers_) share.blobs.push_back(&(*s_.blobs)[(*s_.plan)[entry.first].blob]);
    share.on_prefix = [this](const TransferPrefix& p) { transfers_.at(p.file_index).second->report(p); };
    share.on_end = [this](std::size_t k, std::optional<Error> failure) { end(k, std::move(failure)); };
    share.stop = [this] { return cancelled_.load(); };
    Status fetched = s_.fetch_share(share);
    // Blobs the call never began (it stopped first) end with its outcome.
    for (std::size_t k = 0; k < transfers_.size(); ++k) {
      if (ended_[k]) continue;
      end(k, fetched ? Error(ErrorKind::internal, fmt::format("{}: the Hub download ended without it",
                                                              share.blobs[k]->paths.front()))
                     : fetched.error());
    }
  }

  // On the fetch thread. A blob's own failure stops the rest of the share at
  // once; the blobs that stops are skipped (their receivers get that failure).
  void end(std::size_t k, std::optional<Error> failure) {
    if (k >= transfers_.size() || ended_[k]) return;
    ended_[k] = true;
    Fetched result{transfers_[k].first, std::move(failure), false};
    if (result.failure && result.failure->kind() == ErrorKind::cancelled && cancelled_) {
      result.failure.reset();
      result.skipped = true;
    } else if (result.failure) {
      cancelled_ = true;
    }
    std::lock_guard lock(mu_);
    results_.push_back(std::move(result));
  }

  const ExchangeSetup& s_;
  Share transfers_;
  std::vector<bool> ended_;  // the fetch thread's
  std::atomic<bool> cancelled_{false};
  std::mutex mu_;
  std::vector<Fetched> results_;
  std::jthread thread_;  // last: joined before the members it uses go
};

}  // namespace

ExchangeOutcome exchange_blobs(const ExchangeSetup& s) {
  const int me = s.topology->node_index;
  ExchangeOutcome out;
  Failures failures;
  std::vector<std::unique_ptr<OutgoingBlob>> outgoing;
  std::vector<std::unique_ptr<IncomingBlob>> incoming;
  HubFetcher::Share hub_share;
  std::vector<OutgoingBlob*> by_transfer(s.plan->size(), nullptr);
  // Transfers ready to send, started at most `max_sending` at a time: each
  // holds window × chunk bytes here and at every receiver.
  std::deque<OutgoingBlob*> ready;
  for (std::size_t i = 0; i < s.plan->size(); ++i) {
    const BlobTransfer& t = (*s.plan)[i];
    if (t.source == me) {
      std::shared_ptr<GrowingBlob> growing;
      if (t.from_hub) {
        growing = std::make_shared<GrowingBlob>();
        hub_share.emplace_back(i, growing);
      }
      outgoing.push_back(std::make_unique<OutgoingBlob>(s, i, growing));
      by_transfer[i] = outgoing.back().get();
      if (!t.from_hub) ready.push_back(outgoing.back().get());
    } else if (std::find(t.receivers.begin(), t.receivers.end(), me) != t.receivers.end()) {
      incoming.push_back(std::make_unique<IncomingBlob>(s, i, failures));
    }
  }
  Notices notices(s);
  ProgressReports reports(s);
  HubFetcher fetcher(s, std::move(hub_share));
  for (;;) {
    bool moved = false;
    for (auto& fetched : fetcher.take()) {
      const std::size_t index = fetched.transfer;
      std::optional<Error>& failure = fetched.failure;
      if (fetched.skipped) {
        failure = failures.for_peers(*s.topology);  // the receivers get the error that stopped us
      } else if (failure) {
        failures.own(*failure);
        failure = located(*s.topology, *failure);
      } else {
        out.hub_bytes += (*s.blobs)[(*s.plan)[index].blob].size;
        ++out.blobs_from_hub;
      }
      OutgoingBlob* o = by_transfer[index];
      o->fetched(std::move(failure));
      if (!o->started()) ready.push_back(o);
      moved = true;
    }
    moved |= notices.step(failures);
    if (failures.any()) fetcher.cancel();
    if (failures.any_own()) notices.send(error_header(failures.for_peers(*s.topology)));
    // Blobs the fetch thread is downloading go out at once, beyond
    // max_sending: the engine has at most max_open_files of them open.
    for (auto& o : outgoing) {
      if (o->streamable()) {
        o->start(failures);
        moved = true;
      }
    }
    const auto sending = std::count_if(outgoing.begin(), outgoing.end(),
                                       [](const auto& o) { return o->started() && !o->done(); });
    for (auto n = sending; n < s.max_sending && !ready.empty(); ++n) {
      ready.front()->start(failures);
      ready.pop_front();
      moved = true;
    }
    for (auto& o : outgoing) moved |= o->step(out, failures);
    for (auto& in : incoming) moved |= in->step(out, failures);
    const bool over = std::all_of(outgoing.begin(), outgoing.end(), [](auto& o) { return o->done(); }) &&
                      std::all_of(incoming.begin(), incoming.end(), [](auto& i) { return i->done(); });
    moved |= reports.step(out, over);
    if (over) {
      notices.send(Header{});  // done (a no-op after an error notice)
      if (notices.complete() && reports.complete()) break;
    }
    if (!moved) std::this_thread::sleep_for(s.topology->poll);
  }
  failures.finish(out);
  return out;
}

}  // namespace hubload::mpi_internal
