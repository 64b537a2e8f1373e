#include "transfer/engine.h"

#include <curl/curl.h>
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

#include "transfer/blob_lock.h"
#include "transfer/chunk_planner.h"
#include "transfer/http_response.h"
#include "transfer/partial_file.h"
#include "transfer/prefix_verifier.h"
#include "transfer/retry_policy.h"

namespace hubload::transfer {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

struct CurlMultiDeleter {
  void operator()(CURLM* m) const { curl_multi_cleanup(m); }
};
struct CurlEasyDeleter {
  void operator()(CURL* e) const { curl_easy_cleanup(e); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

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
  std::string lock_path;
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

struct Conn {
  Engine* engine = nullptr;
  std::unique_ptr<CURL, CurlEasyDeleter> easy;
  std::unique_ptr<curl_slist, SlistDeleter> headers;
  Job* job = nullptr;
  int slot = 0;
  std::uint64_t start = 0;
  std::uint64_t pos = 0;
  ResponseHeaders response;
  long status = 0;
  bool checked = false;
  bool discard_body = false;
  bool doomed = false;         // abandoned: ignore its bytes and its result
  bool stalled = false;
  std::optional<Error> fatal;  // not worth retrying (disk error, bad answer)
  Clock::time_point last_byte{};
  char errbuf[CURL_ERROR_SIZE] = {};
  BudgetSlot budget_slot;  // released when the connection is erased, right after it ends
};

class Engine {
 public:
  Engine(std::span<const TransferFile> files, const TransferOptions& opt) : opt_(opt), rng_(std::random_device{}()) {
    for (std::size_t i = 0; i < files.size(); ++i) {
      Job j;
      j.index = i;
      j.file = &files[i];
      j.name = files[i].display_name.empty() ? files[i].dest : files[i].display_name;
      j.lock_path = files[i].lock_path.empty() ? files[i].dest + ".lock" : files[i].lock_path;
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
  void on_done(Conn* c, CURLcode code);
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

  static std::size_t write_cb(char* p, std::size_t sz, std::size_t n, void* ud);
  static std::size_t header_cb(char* p, std::size_t sz, std::size_t n, void* ud);
  std::size_t on_data(Conn& c, const char* p, std::size_t len);

  const TransferOptions& opt_;
  std::mt19937_64 rng_;
  std::vector<Job> jobs_;
  std::list<Conn> conns_;
  std::unique_ptr<CURLM, CurlMultiDeleter> multi_;
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
    bool exclusive = job.lock_path == "-" || (job.lock && job.lock->enforced());
    PartialOptions po;
    po.foreign_age = opt_.foreign_partial_age;
    po.check_owner_alive = opt_.check_owner_alive;
    po.exclusive = exclusive;
    HUBLOAD_ASSIGN_OR_RETURN(auto p, PartialFile::open(f.dest, f.size, hash, po));
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
    if (job.lock_path != "-") {
      auto lock = BlobLock::try_acquire(job.lock_path);
      if (!lock) {
        fail_job(job, std::move(lock).error());
        continue;
      }
      if (!lock->has_value()) {
        // Another process is fetching it; look again shortly (it may publish).
        job.not_before = now + milliseconds(100);
        if (!job.waiting_reported) emit(TransferEventKind::waiting, job, "another process holds " + job.lock_path);
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
  c.engine = this;
  c.job = &job;
  c.slot = a.id;
  c.start = c.pos = a.range.begin;
  c.last_byte = Clock::now();
  c.easy.reset(curl_easy_init());
  CURL* e = c.easy.get();
  curl_slist* h = nullptr;
  for (const auto& line : job.file->headers) h = curl_slist_append(h, line.c_str());
  std::string range = "Range: bytes=" + std::to_string(a.range.begin) + "-" + std::to_string(a.range.end - 1);
  h = curl_slist_append(h, range.c_str());
  c.headers.reset(h);
  curl_easy_setopt(e, CURLOPT_URL, job.file->url.c_str());
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(e, CURLOPT_USERAGENT, opt_.user_agent.c_str());
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(e, CURLOPT_MAXREDIRS, 5L);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(opt_.connect_timeout.count()));
  curl_easy_setopt(e, CURLOPT_BUFFERSIZE, 256L * 1024);
  curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &Engine::write_cb);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &c);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &Engine::header_cb);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, &c);
  curl_easy_setopt(e, CURLOPT_PRIVATE, &c);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, c.errbuf);
  if (curl_multi_add_handle(multi_.get(), e) != CURLM_OK) {
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

std::size_t Engine::header_cb(char* p, std::size_t sz, std::size_t n, void* ud) {
  static_cast<Conn*>(ud)->response.on_line(std::string_view(p, sz * n));
  return sz * n;
}

std::size_t Engine::write_cb(char* p, std::size_t sz, std::size_t n, void* ud) {
  Conn& c = *static_cast<Conn*>(ud);
  return c.engine->on_data(c, p, sz * n);
}

std::size_t Engine::on_data(Conn& c, const char* p, std::size_t len) {
  if (c.doomed) return 0;
  Job& job = *c.job;
  if (!c.checked) {
    c.checked = true;
    curl_easy_getinfo(c.easy.get(), CURLINFO_RESPONSE_CODE, &c.status);
    if (c.status == 206) {
      auto cr = parse_content_range(c.response.content_range);
      if (!cr || cr->first != c.pos || cr->total != job.file->size) {
        c.fatal = invalid_input(job.name + ": asked " + job.file->url + " for bytes from " + std::to_string(c.pos) +
                                " of " + std::to_string(job.file->size) + ", server answered Content-Range '" +
                                c.response.content_range + "'");
        return 0;
      }
    } else if (c.status == 200) {
      // The server ignored Range: this connection now carries the whole file
      // from byte 0, and every other connection of the file is abandoned.
      if (c.pos != 0 || job.planner->end_of(c.slot) != job.file->size || job.conns > 1 ||
          job.planner->done().covered() > 0) {
        if (Status s = restart_whole(job, c); !s) {
          c.fatal = std::move(s).error();
          return 0;
        }
      }
      job.ranges_ok = false;
    } else {
      c.discard_body = true;
    }
  }
  if (c.discard_body) return len;
  std::uint64_t end = job.planner->end_of(c.slot);
  std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(len, end > c.pos ? end - c.pos : 0));
  const char* q = p;
  std::size_t left = take;
  while (left > 0) {
    ssize_t w = ::pwrite(job.partial->fd(), q, left, static_cast<off_t>(c.pos + (q - p)));
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      c.fatal = errno_error(job.partial->data_path(), errno);
      return 0;
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
  return take < len ? 0 : len;
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

void Engine::on_done(Conn* c, CURLcode code) {
  Job& job = *c->job;
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
  long status = c->status;
  if (!c->checked) curl_easy_getinfo(c->easy.get(), CURLINFO_RESPONSE_CODE, &status);
  std::string where = job.file->url + " (bytes " + std::to_string(c->pos) + "-" + std::to_string(end - 1) + ")";
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
  } else if (code != CURLE_OK) {
    reason = c->errbuf[0] ? std::string(c->errbuf) : curl_easy_strerror(code);
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
  std::optional<std::chrono::seconds> server_wait = parse_retry_after(c->response.retry_after);
  if (status == 429) {
    if (auto t = parse_ratelimit_reset(c->response.ratelimit)) server_wait = *t + std::chrono::seconds(1);
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
    if (Status s = job.partial->publish(job.file->dest); !s) {
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
  multi_.reset(curl_multi_init());
  if (!multi_) return internal_error("curl_multi_init failed");
  curl_multi_setopt(multi_.get(), CURLMOPT_MAX_TOTAL_CONNECTIONS, static_cast<long>(limit_));
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

    int running = 0;
    curl_multi_perform(multi_.get(), &running);
    int msgs = 0;
    bool finished_any = false;
    while (CURLMsg* m = curl_multi_info_read(multi_.get(), &msgs)) {
      if (m->msg != CURLMSG_DONE) continue;
      Conn* c = nullptr;
      curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, reinterpret_cast<char**>(&c));
      CURLcode code = m->data.result;
      curl_multi_remove_handle(multi_.get(), m->easy_handle);
      on_done(c, code);
      finished_any = true;
      c->doomed = true;
      c->job = nullptr;
    }
    now = Clock::now();
    check_stalls(now);
    // Abandoned or stalled handles are removed here, outside curl's callbacks.
    for (auto it = conns_.begin(); it != conns_.end();) {
      if (it->job && (it->doomed || it->stalled)) {
        curl_multi_remove_handle(multi_.get(), it->easy.get());
        Conn* c = &*it;
        on_done(c, CURLE_OPERATION_TIMEDOUT);
        c->job = nullptr;
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
    // A finished transfer frees a connection: hand it out now, not after a poll.
    if (!finished_any) curl_multi_poll(multi_.get(), nullptr, 0, 20, nullptr);
  }

  // Leaving (done or cancelled): stop every connection, keep partials for resume.
  for (auto& c : conns_) {
    if (c.job) curl_multi_remove_handle(multi_.get(), c.easy.get());
  }
  conns_.clear();
  for (auto& job : jobs_) {
    if (job.state == JobState::finished) continue;
    job.conns = 0;
    fail_job(job, Error(ErrorKind::cancelled, job.name + ": download cancelled"));
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

}  // namespace hubload::transfer

namespace hubload {

Result<TransferStats> download_files(std::span<const TransferFile> files, const TransferOptions& options) {
  static const bool curl_ready = curl_global_init(CURL_GLOBAL_DEFAULT) == 0;
  if (!curl_ready) return internal_error("curl_global_init failed");
  return transfer::run_transfers(files, options);
}

}  // namespace hubload
