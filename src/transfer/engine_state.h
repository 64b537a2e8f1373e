// The transfer engine's state, shared by the files that make it up (one class,
// split by concern):
//   engine.cpp          the event loop, the per-file state machine (lock, partial, start), stalls
//   scheduler.cpp       which file gets the next connection, range requests and their bodies
//   request_end.cpp     what an ended request means: done, retried after which wait, or failed
//   journal_policy.cpp  when the resume journal is updated and which bytes are synced
//   publish.cpp         verify-then-publish, and failing a file
// Private to src/transfer.
#pragma once

#include <chrono>
#include <cstdint>
#include <algorithm>
#include <deque>
#include <filesystem>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "hubload/cache.h"
#include "hubload/transfer.h"
#include "hubload/transport.h"
#include "transfer/chunk_planner.h"
#include "transfer/partial_file.h"
#include "transfer/prefix_verifier.h"
#include "util/terminal_text.h"

namespace hubload::transfer_internal {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Redirect hops a range request may take (a CDN may send one more).
constexpr int kMaxRedirects = 5;

// One slot of the ConnectionBudget, given back when the connection that holds
// it goes away. Without a budget it is always granted.
class BudgetSlot {
 public:
  BudgetSlot() = default;
  static BudgetSlot take(ConnectionBudget* budget) {
    BudgetSlot s;
    s.granted_ = !budget || budget->try_acquire();
    if (s.granted_) s.budget_ = budget;
    return s;
  }
  BudgetSlot(BudgetSlot&& o) noexcept : budget_(std::exchange(o.budget_, nullptr)), granted_(std::exchange(o.granted_, false)) {}
  BudgetSlot& operator=(BudgetSlot&& o) noexcept {
    if (this != &o) {
      reset();
      budget_ = std::exchange(o.budget_, nullptr);
      granted_ = std::exchange(o.granted_, false);
    }
    return *this;
  }
  BudgetSlot(const BudgetSlot&) = delete;
  BudgetSlot& operator=(const BudgetSlot&) = delete;
  ~BudgetSlot() { reset(); }
  explicit operator bool() const { return granted_; }

 private:
  void reset() {
    if (budget_) budget_->release();
    budget_ = nullptr;
    granted_ = false;
  }
  ConnectionBudget* budget_ = nullptr;
  bool granted_ = false;
};

enum class JobState { pending, active, finished };

struct Job {
  std::size_t index = 0;
  const TransferFile* file = nullptr;
  std::string name;
  std::filesystem::path lock_path;  // empty: LockMode::external
  JobState state = JobState::pending;
  std::optional<BlobLock> lock;
  std::optional<PartialFile> partial;
  std::unique_ptr<ChunkPlanner> planner;
  std::unique_ptr<PrefixVerifier> verifier;
  bool ranges_ok = true;
  int conns = 0;
  // Failed attempts in a row without a new byte, and in all (TransferOptions::
  // max_attempts, max_total_attempts). Progress is measured against the most
  // bytes the file ever had, so a server that makes the engine start over
  // (a 200 to a Range request) and cuts every body short cannot reset them.
  int failures = 0;
  int failures_total = 0;
  std::uint64_t most_done = 0;
  Clock::time_point last_gain{};  // when most_done last grew (or the file started)
  bool integrity_retried = false;
  Clock::time_point not_before{};
  Clock::time_point last_journal{};
  std::uint64_t journaled_bytes = 0;
  // The stable bytes at each journal update, oldest first: they are synced once
  // sync_delay has passed (TransferOptions::sync_delay).
  std::deque<std::pair<Clock::time_point, RangeSet>> stable_since;
  std::optional<Error> error;
  bool was_present = false;
  bool waiting_reported = false;
  // TransferOptions::on_prefix: the file's beginnings so far, and the prefix last reported.
  std::uint64_t generation = 0;
  std::uint64_t reported_prefix = 0;
};

class Engine;

// One range request in flight (a TransferSession transfer).
struct Conn {
  TransferId id = 0;
  Job* job = nullptr;  // null once it ended: erased on the next loop turn
  int slot = 0;
  std::string url;     // the file's URL, or where a redirect sent us
  int redirects = 0;
  std::uint64_t start = 0;
  std::uint64_t pos = 0;
  HttpHeaders response;
  int status = 0;
  std::optional<std::string> redirect_to;
  bool discard_body = false;
  bool doomed = false;         // abandoned: ignore its bytes and its result
  bool stalled = false;
  std::string stop_reason;     // why check_stalls() stopped it
  std::optional<Error> fatal;  // not worth retrying (disk error, bad answer)
  Clock::time_point last_byte{};
  Clock::time_point started{};       // request_deadline counts from here
  Clock::time_point window_start{};  // min_rate is checked once per stall_timeout window
  std::uint64_t window_bytes = 0;
  BudgetSlot budget_slot;  // released when the connection is erased, right after it ends
};

class Engine {
 public:
  Engine(std::span<const TransferFile> files, const TransferOptions& opt) : opt_(opt), rng_(std::random_device{}()) {
    for (std::size_t i = 0; i < files.size(); ++i) {
      Job j;
      j.index = i;
      j.file = &files[i];
      const TransferFile& f = files[i];
      // A display name is often a repo path from the server: escaped once, here,
      // for every message and event that names the file.
      j.name = util_internal::terminal_safe(f.display_name.empty() ? f.dest.string() : f.display_name);
      if (f.lock == LockMode::own) {
        j.lock_path = f.lock_path.empty() ? f.dest.parent_path() / (partial_stem(f.dest.filename().string()) + ".lock")
                                          : f.lock_path;
      }
      total_size_ += files[i].size;
      jobs_.push_back(std::move(j));
    }
    budget_ = opt.budget ? opt.budget
                         : std::make_shared<ConnectionBudget>(opt.connections, std::max(opt.connections, opt.max_connections));
    limit_ = std::max({1, opt.connections, opt.max_connections});
  }

  Result<TransferStats> run();

 private:
  void start_pending_jobs(Clock::time_point now);
  Status open_job(Job& job);
  void fill_connections(Clock::time_point now);
  std::uint64_t piece_cap() const;
  bool start_conn(Job& job, const ChunkPlanner::Assignment& a, BudgetSlot& slot);
  bool start_request(Conn& c);
  void on_response(Conn& c, int status, const HttpHeaders& headers);
  void on_done(Conn* c, const Status& result);
  void finish_job(Job& job);
  void fail_job(Job& job, Error error);
  void abandon_conns(Job& job);
  Status restart_whole(Job& job, Conn& keep);
  void maybe_journal(Job& job, Clock::time_point now, bool force);
  void check_stalls(Clock::time_point now);
  void release_lock(Job& job) { job.lock.reset(); }
  bool emit(TransferEventKind kind, const Job& job, std::string message = {});
  std::uint64_t total_on_disk() const;
  double unit_random() { return std::uniform_real_distribution<double>(0, 1)(rng_); }

  bool on_data(Conn& c, std::span<const char> data);
  // The written prefix to the verifier, and to on_prefix when it grew or the
  // file was `begun` (again).
  void advance_prefix(Job& job, bool begun = false);

  const TransferOptions& opt_;
  std::mt19937_64 rng_;
  std::vector<Job> jobs_;
  std::list<Conn> conns_;
  std::shared_ptr<Transport> transport_;      // outlives the session it opened
  std::unique_ptr<TransferSession> session_;
  // Every request holds one of its slots; its count is what adapts.
  std::shared_ptr<ConnectionBudget> budget_;
  std::uint64_t unrecorded_bytes_ = 0;  // received, not yet record()ed in budget_
  int limit_ = 8;  // most connections this call ever opens (the budget's cap)
  int active_ = 0;
  Clock::time_point global_not_before_{};
  Clock::time_point last_progress_{};
  std::uint64_t total_size_ = 0;
  bool cancelled_ = false;
  TransferStats stats_;
  // Per destination folder, the stems with partials when this call first opened a file there.
  std::map<std::filesystem::path, std::set<std::string>> partial_stems_;
};

}  // namespace hubload::transfer_internal
