#include "mpi/blob_exchange.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "hubload/file.h"
#include "util/digest.h"

namespace hubload::mpi_internal {
namespace fs = std::filesystem;
namespace {

// The first message of every transfer: the bytes follow, or they never will.
struct Header {
  std::int32_t ok = 1;
  std::int32_t kind = 0;
  char message[504] = {};
};
static_assert(sizeof(Header) == 512);

Header error_header(const Error& error) {
  Header h;
  h.ok = 0;
  h.kind = static_cast<std::int32_t>(error.kind());
  std::snprintf(h.message, sizeof h.message, "%s", error.message().c_str());
  return h;
}

std::uint64_t chunk_count(std::uint64_t size, std::uint64_t chunk) { return (size + chunk - 1) / chunk; }

std::uint64_t chunk_bytes(std::uint64_t size, std::uint64_t chunk, std::uint64_t index) {
  return std::min(chunk, size - index * chunk);
}

bool all_done(std::vector<MPI_Request>& requests) {
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

struct Slot {
  std::vector<std::byte> bytes;
  std::vector<MPI_Request> requests;
};

// One transfer this node sends: header to every receiver, then the chunks,
// each read once from the published blob and sent to every receiver, at most
// `window` chunks in flight.
class Outgoing {
 public:
  Outgoing(const ExchangeSetup& s, std::size_t index) : s_(s), index_(index), slots_(s.window) {}

  std::size_t index() const { return index_; }
  bool started() const { return started_; }
  bool done() const { return finished_; }

  // The blob is ready in the cache (or `failure` says why it is not, and the
  // receivers are told instead).
  void start(const std::optional<Error>& failure, Failures& failures) {
    started_ = true;
    const BlobTransfer& t = transfer();
    const Blob& blob = (*s_.blobs)[t.blob];
    if (!failure) {
      Result<ReadFile> file = ReadFile::open(s_.cache->blob_path(blob.etag));
      if (file && file->size() == blob.size) {
        file_ = std::move(*file);
      } else {
        failures.own(file ? io_error(fmt::format("{}: {} bytes, expected {}", file->path().string(), file->size(),
                                                 blob.size))
                          : file.error());
      }
    }
    header_ = file_ ? Header{} : error_header(failure ? *failure : failures.for_peers(*s_.topology));
    for (int r : t.receivers) {
      MPI_Request request;
      MPI_Isend(&header_, sizeof header_, MPI_BYTE, r, tag(), s_.topology->leaders.get(), &request);
      header_requests_.push_back(request);
    }
    chunks_ = file_ ? chunk_count(blob.size, s_.chunk_size) : 0;
  }

  // One round of progress; true if something moved.
  bool step(ExchangeOutcome& out, Failures& failures) {
    if (!started_ || finished_) return false;
    bool moved = false;
    for (Slot& slot : slots_) {
      if (!all_done(slot.requests) || next_ >= chunks_) continue;
      const Blob& blob = (*s_.blobs)[transfer().blob];
      const std::uint64_t n = chunk_bytes(blob.size, s_.chunk_size, next_);
      slot.bytes.resize(n);
      Status read = file_->read_at(next_ * s_.chunk_size, slot.bytes);
      // The receivers expect this chunk whatever happens; a bad read makes their
      // hash check fail, and this node reports why.
      if (!read) failures.own(read.error());
      for (int r : transfer().receivers) {
        MPI_Request request;
        MPI_Isend(slot.bytes.data(), static_cast<int>(n), MPI_BYTE, r, tag(), s_.topology->leaders.get(), &request);
        slot.requests.push_back(request);
        out.fabric_bytes += n;
      }
      ++next_;
      moved = true;
    }
    if (next_ == chunks_ && all_done(header_requests_) &&
        std::all_of(slots_.begin(), slots_.end(), [](Slot& s) { return all_done(s.requests); })) {
      finished_ = true;
      moved = true;
    }
    return moved;
  }

 private:
  const BlobTransfer& transfer() const { return (*s_.plan)[index_]; }
  int tag() const { return static_cast<int>(index_) + 1; }

  const ExchangeSetup& s_;
  std::size_t index_;
  bool started_ = false, finished_ = false;
  std::optional<ReadFile> file_;
  Header header_;
  std::vector<MPI_Request> header_requests_;
  std::uint64_t chunks_ = 0, next_ = 0;
  std::vector<Slot> slots_;
};

// One transfer this node receives: the header, then the chunks in order (MPI
// keeps messages of one sender and tag in order), written to a partial blob and
// hashed as they arrive; published only when size and hash match.
class Incoming {
 public:
  Incoming(const ExchangeSetup& s, std::size_t index) : s_(s), index_(index), slots_(s.window) {
    MPI_Irecv(&header_, sizeof header_, MPI_BYTE, transfer().source, tag(), s_.topology->leaders.get(),
              &header_request_);
  }

  bool done() const { return finished_; }

  bool step(ExchangeOutcome& out, Failures& failures) {
    if (finished_) return false;
    if (!header_seen_) {
      int arrived = 0;
      MPI_Test(&header_request_, &arrived, MPI_STATUS_IGNORE);
      if (!arrived) return false;
      header_seen_ = true;
      if (!header_.ok) {
        header_.message[sizeof header_.message - 1] = '\0';
        failures.told(Error(static_cast<ErrorKind>(header_.kind), header_.message));
        finished_ = true;
        return true;
      }
      open(failures);
      chunks_ = chunk_count(blob().size, s_.chunk_size);
      while (posted_ < chunks_ && posted_ < slots_.size()) post();
    }
    bool moved = false;
    while (written_ < chunks_) {
      Slot& slot = slots_[written_ % slots_.size()];
      if (!all_done(slot.requests)) break;
      if (temp_ && digest_) {
        Status wrote = write_all(temp_->fd(), slot.bytes, temp_->path());
        if (!wrote) discard(failures, wrote.error());
        else digest_->update(slot.bytes);
      }
      out.fabric_received += slot.bytes.size();
      ++written_;
      if (posted_ < chunks_) post();
      moved = true;
    }
    if (written_ == chunks_) {
      finish(out, failures);
      finished_ = true;
      moved = true;
    }
    return moved;
  }

 private:
  const BlobTransfer& transfer() const { return (*s_.plan)[index_]; }
  const Blob& blob() const { return (*s_.blobs)[transfer().blob]; }
  int tag() const { return static_cast<int>(index_) + 1; }

  void post() {
    Slot& slot = slots_[posted_ % slots_.size()];
    const std::uint64_t n = chunk_bytes(blob().size, s_.chunk_size, posted_);
    slot.bytes.resize(n);
    MPI_Request request;
    MPI_Irecv(slot.bytes.data(), static_cast<int>(n), MPI_BYTE, transfer().source, tag(),
              s_.topology->leaders.get(), &request);
    slot.requests.push_back(request);
    ++posted_;
  }

  // The blob lock for the whole write (as a single-node download holds it);
  // a blob that appeared meanwhile (another process) is drained and kept.
  void open(Failures& failures) {
    const RepoCache& cache = *s_.cache;
    Result<BlobLock> lock = BlobLock::acquire(cache.lock_path(blob().etag));
    if (!lock) return discard(failures, lock.error());
    lock_ = std::move(*lock);
    std::error_code ec;
    if (fs::exists(cache.blob_path(blob().etag), ec)) return;
    Result<TempBlob> temp = TempBlob::create(cache.blobs_dir(), blob().etag);
    if (!temp) return discard(failures, temp.error());
    temp_.emplace(std::move(*temp));
    Result<util_internal::Digest> digest = blob().etag.size() == 64
                                               ? util_internal::Digest::start(util_internal::DigestAlgo::sha256)
                                               : util_internal::Digest::start_git_blob(blob().size);
    if (!digest) return discard(failures, digest.error());
    digest_.emplace(std::move(*digest));
  }

  void discard(Failures& failures, const Error& error) {
    failures.own(error);
    temp_.reset();  // deletes the partial
    digest_.reset();
  }

  void finish(ExchangeOutcome& out, Failures& failures) {
    if (temp_ && digest_) {
      const std::string got = digest_->finish_hex();
      if (got != blob().etag) {
        discard(failures, Error(ErrorKind::integrity,
                                fmt::format("{} (blob {}) from node {}: the bytes hash to {}",
                                            blob().paths.front(), blob().etag, transfer().source, got)));
      } else {
        Status published = temp_->publish(s_.cache->blob_path(blob().etag));
        if (!published) discard(failures, published.error());
        else ++out.blobs_received;
      }
    }
    temp_.reset();
    lock_.reset();
  }

  const ExchangeSetup& s_;
  std::size_t index_;
  Header header_;
  MPI_Request header_request_ = MPI_REQUEST_NULL;
  bool header_seen_ = false, finished_ = false;
  std::uint64_t chunks_ = 0, posted_ = 0, written_ = 0;
  std::vector<Slot> slots_;
  std::optional<BlobLock> lock_;
  std::optional<TempBlob> temp_;
  std::optional<util_internal::Digest> digest_;
};

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
        h.message[sizeof h.message - 1] = '\0';
        failures.told(Error(static_cast<ErrorKind>(h.kind), h.message));
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
    const Counts mine{s_.hub_done ? s_.hub_done->load() : 0, out.fabric_received, over ? 1u : 0u};
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

// This node's Hub share, fetched in plan order on a thread of its own; the MPI
// thread collects the results.
class HubFetcher {
 public:
  HubFetcher(const ExchangeSetup& s, std::vector<std::size_t> transfers) : s_(s), transfers_(std::move(transfers)) {
    if (!transfers_.empty()) thread_ = std::jthread([this] { run(); });
  }

  void cancel() { cancelled_ = true; }

  struct Fetched {
    std::size_t transfer = 0;
    std::optional<Error> failure;
    bool skipped = false;  // not fetched: an earlier error cancelled the rest
  };
  // Transfers fetched (or skipped) since the last call.
  std::vector<Fetched> take() {
    std::lock_guard lock(mu_);
    return std::exchange(results_, {});
  }

 private:
  void run() {
    for (std::size_t i : transfers_) {
      Fetched result{i, std::nullopt, cancelled_.load()};
      if (!result.skipped) {
        Status fetched = s_.fetch_from_hub((*s_.blobs)[(*s_.plan)[i].blob]);
        if (!fetched) result.failure = fetched.error();
      }
      std::lock_guard lock(mu_);
      results_.push_back(std::move(result));
    }
  }

  const ExchangeSetup& s_;
  std::vector<std::size_t> transfers_;
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
  std::vector<std::unique_ptr<Outgoing>> outgoing;
  std::vector<std::unique_ptr<Incoming>> incoming;
  std::vector<std::size_t> hub_share;
  std::vector<Outgoing*> by_transfer(s.plan->size(), nullptr);
  for (std::size_t i = 0; i < s.plan->size(); ++i) {
    const BlobTransfer& t = (*s.plan)[i];
    if (t.source == me) {
      outgoing.push_back(std::make_unique<Outgoing>(s, i));
      by_transfer[i] = outgoing.back().get();
      if (t.from_hub) hub_share.push_back(i);
    } else if (std::find(t.receivers.begin(), t.receivers.end(), me) != t.receivers.end()) {
      incoming.push_back(std::make_unique<Incoming>(s, i));
    }
  }
  Notices notices(s);
  ProgressReports reports(s);
  HubFetcher fetcher(s, hub_share);
  // Transfers ready to send, started at most `max_sending` at a time: each
  // holds window × chunk bytes here and at every receiver.
  std::deque<std::pair<Outgoing*, std::optional<Error>>> ready;
  for (auto& o : outgoing) {
    if (!(*s.plan)[o->index()].from_hub) ready.emplace_back(o.get(), std::nullopt);
  }
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
      ready.emplace_back(by_transfer[index], std::move(failure));
      moved = true;
    }
    moved |= notices.step(failures);
    if (failures.any()) fetcher.cancel();
    if (failures.any_own()) notices.send(error_header(failures.for_peers(*s.topology)));
    const auto sending = std::count_if(outgoing.begin(), outgoing.end(),
                                       [](const auto& o) { return o->started() && !o->done(); });
    for (auto n = sending; n < s.max_sending && !ready.empty(); ++n) {
      ready.front().first->start(ready.front().second, failures);
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
