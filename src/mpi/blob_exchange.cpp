#include "mpi/blob_exchange.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "hubload/file.h"
#include "mpi/exchange_wire.h"
#include "mpi/leader_messages.h"
#include "util/digest.h"

namespace hubload::mpi_internal {
namespace fs = std::filesystem;
namespace {

std::uint64_t chunk_count(std::uint64_t size, std::uint64_t chunk) { return (size + chunk - 1) / chunk; }

std::uint64_t chunk_bytes(std::uint64_t size, std::uint64_t chunk, std::uint64_t index) {
  return std::min(chunk, size - index * chunk);
}

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
        failures.told(header_error(header_));
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
