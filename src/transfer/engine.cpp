#include "transfer/engine.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <deque>
#include <list>
#include <memory>
#include <optional>
#include <random>
#include <thread>
#include <utility>

#include "transfer/chunk_planner.h"
#include "transfer/partial_file.h"
#include "transfer/prefix_verifier.h"
#include "transfer/retry_policy.h"
#include "hubload/cache.h"
#include "hubload/transport.h"

namespace hubload::transfer_internal {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Redirect hops a range request may take (a CDN may send one more).
constexpr int kMaxRedirects = 5;

// One slot of a shared ConnectionBudget, given back when the connection that
// holds it goes away. Without a budget it is always granted.
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
  int failures = 0;
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
  std::optional<Error> fatal;  // not worth retrying (disk error, bad answer)
  Clock::time_point last_byte{};
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
      j.name = f.display_name.empty() ? f.dest.string() : f.display_name;
      if (f.lock == LockMode::own) j.lock_path = f.lock_path.empty() ? std::filesystem::path(f.dest) += ".lock" : f.lock_path;
      total_size_ += files[i].size;
      jobs_.push_back(std::move(j));
    }
    limit_ = std::max(1, opt.connections);
  }

  Result<TransferStats> run();

 private:
  void start_pending_jobs(Clock::time_point now);
  Status open_job(Job& job);
  void fill_connections(Clock::time_point now);
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

  const TransferOptions& opt_;
  std::mt19937_64 rng_;
  std::vector<Job> jobs_;
  std::list<Conn> conns_;
  std::unique_ptr<TransferSession> session_;
  int limit_ = 8;
  int active_ = 0;
  Clock::time_point global_not_before_{};
  Clock::time_point last_progress_{};
  std::uint64_t total_size_ = 0;
  bool cancelled_ = false;
  TransferStats stats_;
};

bool Engine::emit(TransferEventKind kind, const Job& job, std::string message) {
  if (!opt_.on_event) return true;
  TransferEvent e;
  e.kind = kind;
  e.file_index = job.index;
  e.name = job.name;
  e.file_size = job.file->size;
  e.file_bytes = job.state == JobState::finished && !job.error ? job.file->size
                 : job.planner                                 ? job.planner->done().covered()
                                                               : 0;
  e.total_bytes = total_on_disk();
  e.total_size = total_size_;
  e.bytes_received = stats_.bytes_received;
  e.connections = job.conns;
  e.message = std::move(message);
  if (!opt_.on_event(e)) cancelled_ = true;
  return !cancelled_;
}

std::uint64_t Engine::total_on_disk() const {
  std::uint64_t n = 0;
  for (const auto& j : jobs_) {
    if (j.state == JobState::finished && !j.error) n += j.file->size;
    else if (j.planner) n += j.planner->done().covered();
  }
  return n;
}

Status Engine::open_job(Job& job) {
  const TransferFile& f = *job.file;
  std::string hash = f.expected_hash;
  std::optional<ContentHasher> hasher;
  if (!hash.empty()) {
    if (!ContentHasher::is_hash_etag(hash)) {
      return invalid_input(job.name + ": expected hash '" + hash + "' is neither 40 nor 64 lower-case hex");
    }
    HUBLOAD_ASSIGN_OR_RETURN(auto h, ContentHasher::for_etag_length(hash.size(), f.size));
    hasher = std::move(h);
  }
  if (!job.partial) {
    bool exclusive = job.file->lock == LockMode::external || (job.lock && job.lock->enforced());
    PartialOptions po;
    po.foreign_age = opt_.foreign_partial_age;
    po.exclusive = exclusive;
    HUBLOAD_ASSIGN_OR_RETURN(auto p, PartialFile::open(f.dest.string(), f.size, hash, po));
    job.partial = std::move(p);
  }
  std::uint64_t piece = std::clamp<std::uint64_t>((f.size + limit_ - 1) / limit_, opt_.min_split, opt_.chunk_size);
  if (!job.ranges_ok) piece = std::max<std::uint64_t>(f.size, 1);
  job.planner = std::make_unique<ChunkPlanner>(f.size, piece, job.ranges_ok ? opt_.min_split : ~0ull / 4);
  for (const auto& r : job.partial->adopted().ranges()) job.planner->mark_done(r);
  stats_.bytes_resumed += job.planner->done().covered();
  job.journaled_bytes = job.planner->done().covered();
  job.stable_since.clear();  // they described the bytes before a restart
  job.verifier.reset();
  job.verifier = std::make_unique<PrefixVerifier>(job.partial->fd(), job.partial->data_path(), f.size,
                                                  std::move(hasher), job.partial->journal_path(),
                                                  job.partial->adopted_synced());
  job.verifier->set_prefix(job.planner->done().prefix_end());
  return ok();
}

void Engine::start_pending_jobs(Clock::time_point now) {
  for (auto& job : jobs_) {
    if (job.state != JobState::pending || now < job.not_before) continue;
    if (job.file->lock == LockMode::own) {
      auto lock = BlobLock::try_acquire(job.lock_path);
      if (!lock) {
        fail_job(job, std::move(lock).error());
        continue;
      }
      if (!lock->has_value()) {
        // Another process is fetching it; look again shortly (it may publish).
        job.not_before = now + milliseconds(100);
        if (!job.waiting_reported) emit(TransferEventKind::waiting, job, "another process holds " + job.lock_path.string());
        job.waiting_reported = true;
        continue;
      }
      job.lock = std::move(**lock);
    }
    struct stat st {};
    if (::stat(job.file->dest.c_str(), &st) == 0 && static_cast<std::uint64_t>(st.st_size) == job.file->size) {
      job.was_present = true;
      job.state = JobState::finished;
      ++stats_.files_already_present;
      release_lock(job);
      emit(TransferEventKind::done, job, "already present");
      continue;
    }
    if (Status s = open_job(job); !s) {
      fail_job(job, std::move(s).error());
      continue;
    }
    job.state = JobState::active;
    job.last_journal = now;
    emit(TransferEventKind::start, job);
  }
}

bool Engine::start_conn(Job& job, const ChunkPlanner::Assignment& a, BudgetSlot& slot) {
  conns_.emplace_back();
  Conn& c = conns_.back();
  c.budget_slot = std::move(slot);
  c.job = &job;
  c.slot = a.id;
  c.url = job.file->url;
  c.start = c.pos = a.range.begin;
  if (!start_request(c)) {
    job.planner->release(a.id);
    slot = std::move(c.budget_slot);
    conns_.pop_back();
    return false;
  }
  ++job.conns;
  ++active_;
  ++stats_.requests;
  return true;
}

bool Engine::start_request(Conn& c) {
  Job& job = *c.job;
  HttpRequest request;
  request.url = c.url;
  request.headers = job.file->headers;
  // The token is for the file's own host: a redirect elsewhere (a CDN) drops it.
  if (c.redirects > 0 && url_origin(c.url) != url_origin(job.file->url)) request.headers.remove("Authorization");
  if (!request.headers.has("User-Agent")) request.headers.set("User-Agent", opt_.user_agent);
  request.range = hubload::ByteRange{c.pos, job.planner->end_of(c.slot) - 1};
  request.connect_timeout = opt_.connect_timeout;
  request.stall_timeout = milliseconds(0);  // check_stalls() watches every connection
  c.response = HttpHeaders();
  c.status = 0;
  c.redirect_to.reset();
  c.discard_body = false;
  c.last_byte = Clock::now();
  TransferHandler handler;
  handler.on_response = [this, &c](int status, const HttpHeaders& headers) { on_response(c, status, headers); };
  handler.on_body = [this, &c](std::span<const char> data) { return on_data(c, data); };
  handler.on_done = [this, &c](Status result) {
    on_done(&c, result);
    c.job = nullptr;
  };
  auto id = session_->start(std::move(request), std::move(handler));
  if (!id) return false;
  c.id = *id;
  return true;
}

void Engine::on_response(Conn& c, int status, const HttpHeaders& headers) {
  c.status = status;
  c.response = headers;
  if (c.doomed) return;
  Job& job = *c.job;
  if (status == 206) {
    const std::string value = headers.get("Content-Range").value_or("");
    auto cr = parse_content_range(value);
    if (!cr || cr->first != c.pos || cr->total != job.file->size) {
      c.fatal = invalid_input(job.name + ": asked " + c.url + " for bytes from " + std::to_string(c.pos) + " of " +
                              std::to_string(job.file->size) + ", server answered Content-Range '" + value + "'");
    }
  } else if (status == 200) {
    // The server ignored Range: this connection now carries the whole file
    // from byte 0, and every other connection of the file is abandoned.
    if (c.pos != 0 || job.planner->end_of(c.slot) != job.file->size || job.conns > 1 ||
        job.planner->done().covered() > 0) {
      if (Status s = restart_whole(job, c); !s) c.fatal = std::move(s).error();
    }
    job.ranges_ok = false;
  } else {
    if (status >= 300 && status < 400 && status != 304) {
      if (auto location = headers.get("Location")) c.redirect_to = resolve_location(c.url, *location);
    }
    c.discard_body = true;
  }
}

bool Engine::on_data(Conn& c, std::span<const char> data) {
  if (c.doomed || c.fatal) return false;
  if (c.discard_body) return true;
  Job& job = *c.job;
  const char* p = data.data();
  const std::size_t len = data.size();
  std::uint64_t end = job.planner->end_of(c.slot);
  std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(len, end > c.pos ? end - c.pos : 0));
  const char* q = p;
  std::size_t left = take;
  while (left > 0) {
    ssize_t w = ::pwrite(job.partial->fd(), q, left, static_cast<off_t>(c.pos + (q - p)));
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      c.fatal = errno_error(job.partial->data_path(), errno);
      return false;
    }
    q += w;
    left -= static_cast<std::size_t>(w);
  }
  c.pos += take;
  c.last_byte = Clock::now();
  job.failures = 0;  // attempts count only while no byte of this file arrives
  stats_.bytes_received += take;
  job.planner->advance(c.slot, c.pos);
  job.verifier->set_prefix(job.planner->done().prefix_end());
  // Past our (possibly lowered) end: another connection fetches the rest.
  return take == len;
}

Status Engine::restart_whole(Job& job, Conn& keep) {
  for (auto& other : conns_) {
    if (other.job == &job && &other != &keep) other.doomed = true;
  }
  job.verifier.reset();
  HUBLOAD_TRY(job.partial->reset());
  job.ranges_ok = false;
  HUBLOAD_TRY(open_job(job));  // a fresh planner: one range, the whole file
  auto a = job.planner->assign();
  if (!a) return internal_error(job.name + ": nothing to fetch after a restart");
  keep.slot = a->id;
  keep.start = keep.pos = 0;
  return ok();
}

void Engine::fill_connections(Clock::time_point now) {
  if (now < global_not_before_) return;
  while (active_ < limit_) {
    // The shared slot is taken before anything is assigned (an assignment may
    // split a range); if nothing starts it is given back on leaving.
    BudgetSlot slot = BudgetSlot::take(opt_.budget.get());
    if (!slot) return;
    // Fewest connections first, so every file gets one before any gets more.
    Job* best = nullptr;
    for (auto& job : jobs_) {
      if (job.state != JobState::active || now < job.not_before) continue;
      if (!job.ranges_ok && job.conns > 0) continue;
      if (job.planner->complete()) continue;
      if (!best || job.conns < best->conns) best = &job;
    }
    if (!best) return;
    auto a = best->planner->assign();
    bool started = a && start_conn(*best, *a, slot);
    if (!started) {
      // Nothing left to hand out for this file: try the others once.
      bool any = false;
      for (auto& job : jobs_) {
        if (&job == best || job.state != JobState::active || now < job.not_before || job.planner->complete()) continue;
        if (!job.ranges_ok && job.conns > 0) continue;
        if (auto b = job.planner->assign(); b && start_conn(job, *b, slot)) {
          any = true;
          break;
        }
      }
      if (!any) return;
    }
  }
}

void Engine::on_done(Conn* c, const Status& result) {
  Job& job = *c->job;
  if (c->redirect_to && !c->doomed && !c->fatal && job.state == JobState::active && c->redirects < kMaxRedirects) {
    // Same range, same slot, same connection budget: only the URL changes.
    c->url = *c->redirect_to;
    ++c->redirects;
    conns_.push_back(std::move(*c));
    Conn& next = conns_.back();
    if (start_request(next)) return;
    next.job = nullptr;
    c->fatal = internal_error(job.name + ": could not follow the redirect to " + next.url);
  }
  --active_;
  --job.conns;
  if (c->doomed || job.state != JobState::active) return;
  std::uint64_t end = job.planner->end_of(c->slot);
  if (c->pos >= end && !c->fatal) {
    job.planner->release(c->slot);
    if (limit_ < opt_.connections) ++limit_;  // recover after a 429 halved the budget
    return;
  }
  job.planner->release(c->slot);
  if (c->fatal) {
    fail_job(job, *c->fatal);
    return;
  }
  const int status = c->status;
  std::string where = c->url + " (bytes " + std::to_string(c->pos) + "-" + std::to_string(end - 1) + ")";
  std::string reason;
  if (c->stalled) {
    reason = "no data for " + std::to_string(opt_.stall_timeout.count()) + " ms";
  } else if (status >= 300 && status != 206 && status != 200) {
    if (!is_retryable_status(status)) {
      std::string m = job.name + ": HTTP " + std::to_string(status) + " from " + where;
      if (status == 404) fail_job(job, not_found(m));
      else if (status == 401 || status == 403) fail_job(job, Error(ErrorKind::unauthorized, m));
      else fail_job(job, invalid_input(m));
      return;
    }
    reason = "HTTP " + std::to_string(status);
  } else if (!result) {
    reason = result.error().message();
  } else {
    reason = "body ended early";
  }
  ++job.failures;
  ++stats_.retries;
  if (job.failures > opt_.max_attempts) {
    ErrorKind kind = status == 429 ? ErrorKind::rate_limited : ErrorKind::network;
    fail_job(job, Error(kind, job.name + ": giving up after " + std::to_string(opt_.max_attempts) +
                                  " attempts: " + reason + " from " + where));
    return;
  }
  milliseconds delay = backoff_delay(job.failures, opt_.backoff_base, opt_.backoff_max, unit_random());
  std::optional<std::chrono::seconds> server_wait = parse_retry_after(c->response.get("Retry-After").value_or(""));
  if (status == 429) {
    if (auto t = parse_ratelimit_reset(c->response.get("RateLimit").value_or(""))) server_wait = *t + std::chrono::seconds(1);
  }
  if (server_wait) delay = std::max(delay, std::min<milliseconds>(*server_wait, opt_.max_server_wait));
  auto until = Clock::now() + delay;
  job.not_before = std::max(job.not_before, until);
  if (status == 429) {
    // Rate limited: everybody waits, and fewer connections come back.
    global_not_before_ = std::max(global_not_before_, until);
    limit_ = std::max(1, limit_ / 2);
  }
  emit(TransferEventKind::retry, job, reason + " from " + where + "; retrying in " + std::to_string(delay.count()) + " ms");
}

void Engine::abandon_conns(Job& job) {
  for (auto& c : conns_) {
    if (c.job == &job) c.doomed = true;
  }
}

void Engine::maybe_journal(Job& job, Clock::time_point now, bool force) {
  if (!job.partial || !job.verifier || !job.planner) return;
  if (!force && now - job.last_journal < opt_.journal_interval) return;
  job.last_journal = now;
  const RangeSet& done = job.planner->done();
  const bool grew = done.covered() != job.journaled_bytes;
  if (grew || force) {
    // Bytes near a live connection's write position are not synced yet: their
    // pages may still be written, and syncing them would make that write wait
    // for the disk (prefix_verifier.h). 2 MiB covers the largest page-cache folio.
    constexpr std::uint64_t kFrontierMargin = 2u << 20;
    RangeSet stable = done;
    for (const Conn& c : conns_) {
      if (c.job != &job || c.doomed) continue;
      stable.remove({c.pos > kFrontierMargin ? c.pos - kFrontierMargin : 0, c.pos + kFrontierMargin});
    }
    job.stable_since.emplace_back(now, std::move(stable));
    job.journaled_bytes = done.covered();
  }
  if (force) {  // no writer is left: everything now
    job.verifier->post_journal(job.partial->journal(job.stable_since.back().second, done), true);
    job.stable_since.clear();
    return;
  }
  std::optional<RangeSet> due;
  while (!job.stable_since.empty() && now - job.stable_since.front().first >= opt_.sync_delay) {
    due = std::move(job.stable_since.front().second);
    job.stable_since.pop_front();
  }
  // Written bytes are claimed at once (they survive a kill -9); synced ones
  // once due and synced.
  if (due || grew) job.verifier->post_journal(job.partial->journal(due ? *due : RangeSet{}, done));
}

void Engine::fail_job(Job& job, Error error) {
  abandon_conns(job);
  maybe_journal(job, Clock::now(), true);
  job.verifier.reset();  // saves the pending journal, so a rerun resumes
  job.state = JobState::finished;
  job.error = std::move(error);
  job.partial.reset();
  release_lock(job);
  emit(TransferEventKind::error, job, job.error->to_string());
}

void Engine::finish_job(Job& job) {
  Result<std::string> digest = job.verifier->finish();
  job.verifier.reset();
  if (!digest) {
    fail_job(job, std::move(digest).error());
    return;
  }
  struct stat st {};
  if (::fstat(job.partial->fd(), &st) != 0) {
    fail_job(job, errno_error(job.partial->data_path(), errno));
    return;
  }
  const std::string& want = job.file->expected_hash;
  bool size_ok = static_cast<std::uint64_t>(st.st_size) == job.file->size;
  if (size_ok && (want.empty() || *digest == want)) {
    if (Status s = job.partial->publish(job.file->dest.string()); !s) {
      fail_job(job, std::move(s).error());
      return;
    }
    job.partial.reset();
    job.state = JobState::finished;
    ++stats_.files_fetched;
    release_lock(job);
    emit(TransferEventKind::done, job);
    return;
  }
  std::string what = size_ok ? "content hashes to " + *digest + " but the expected hash is " + want
                             : "size is " + std::to_string(st.st_size) + " bytes but " +
                                   std::to_string(job.file->size) + " were expected";
  std::string message = job.name + ": integrity check failed for " + job.file->url + ": " + what;
  if (job.integrity_retried) {
    job.partial->discard();
    job.partial.reset();
    job.planner.reset();
    fail_job(job, integrity_error(message));
    return;
  }
  // Once from scratch: a corrupted byte on the wire should not fail the download.
  job.integrity_retried = true;
  if (Status s = job.partial->reset(); !s) {
    fail_job(job, std::move(s).error());
    return;
  }
  if (Status s = open_job(job); !s) {
    fail_job(job, std::move(s).error());
    return;
  }
  emit(TransferEventKind::retry, job, message + "; downloading again from scratch");
}

void Engine::check_stalls(Clock::time_point now) {
  for (auto& c : conns_) {
    if (!c.doomed && !c.stalled && now - c.last_byte > opt_.stall_timeout) {
      c.stalled = true;
      // Removing the handle here and reporting it as done keeps one code path.
    }
  }
}

Result<TransferStats> Engine::run() {
  std::shared_ptr<Transport> transport = opt_.transport ? opt_.transport : make_curl_transport();
  HUBLOAD_ASSIGN_OR_RETURN(session_, transport->open_session(limit_));
  std::optional<Error> session_error;
  while (true) {
    auto now = Clock::now();
    start_pending_jobs(now);
    for (auto& job : jobs_) {
      if (job.state == JobState::active && job.conns == 0 && job.planner->complete()) finish_job(job);
    }
    fill_connections(now);
    if (cancelled_) break;
    bool busy = std::any_of(jobs_.begin(), jobs_.end(), [](const Job& j) { return j.state != JobState::finished; });
    if (!busy && conns_.empty()) break;

    // Runs the transfers; returns at once when one ended (its connection is
    // handed out again on the next turn), else after waiting up to 20 ms.
    if (Status s = session_->poll(milliseconds(20)); !s) {
      session_error = std::move(s).error();
      break;
    }
    now = Clock::now();
    check_stalls(now);
    // Abandoned or stalled transfers are stopped here, outside the callbacks.
    for (auto it = conns_.begin(); it != conns_.end();) {
      if (it->job && (it->doomed || it->stalled)) {
        session_->cancel(it->id);
        on_done(&*it, network_error("stopped"));
        it->job = nullptr;
      }
      if (!it->job) it = conns_.erase(it);
      else ++it;
    }
    for (auto& job : jobs_) {
      if (job.state == JobState::active) maybe_journal(job, now, false);
    }
    if (opt_.on_event && now - last_progress_ >= opt_.progress_interval) {
      last_progress_ = now;
      for (auto& job : jobs_) {
        if (job.state == JobState::active) emit(TransferEventKind::progress, job);
      }
    }
    if (cancelled_) break;
  }

  // Leaving (done, cancelled or broken): stop every connection, keep partials for resume.
  for (auto& c : conns_) {
    if (c.job) session_->cancel(c.id);
  }
  conns_.clear();
  for (auto& job : jobs_) {
    if (job.state == JobState::finished) continue;
    job.conns = 0;
    fail_job(job, session_error ? *session_error : Error(ErrorKind::cancelled, job.name + ": download cancelled"));
  }
  for (auto& job : jobs_) {
    if (job.error) return *job.error;
  }
  return stats_;
}

}  // namespace

Result<TransferStats> run_transfers(std::span<const TransferFile> files, const TransferOptions& options) {
  Engine engine(files, options);
  return engine.run();
}

}  // namespace hubload::transfer_internal

namespace hubload {

Result<TransferStats> download_files(std::span<const TransferFile> files, const TransferOptions& options) {
  return transfer_internal::run_transfers(files, options);
}

}  // namespace hubload
