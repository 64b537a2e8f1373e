#include "transfer/engine.h"

#include <sys/stat.h>

#include <algorithm>

#include "transfer/engine_state.h"

namespace hubload::transfer_internal {

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
  e.connection_limit = budget_->slots();
  e.message = std::move(message);
  if (kind == TransferEventKind::error) e.error = job.error;
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
  HUBLOAD_TRY(check_fetchable_url(f.url));
  std::string hash = f.expected_hash;
  std::optional<ContentHasher> hasher;
  if (!hash.empty()) {
    if (!util_internal::is_hash_etag(hash)) {
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
    // One request's worth (it is never split): a crash costs at most that much
    // to fetch again, less than a journal costs every file of a many-file repo.
    // Not where on_prefix is set: its consumer opens the partial by name while
    // it grows (the MPI mode streams it to other nodes).
    po.unnamed = f.size <= opt_.min_split && !opt_.on_prefix;
    // The folder is read once per call, not once per file: a partial another
    // process starts meanwhile has a live owner, and adopting it was never due.
    const std::filesystem::path dir = f.dest.has_parent_path() ? f.dest.parent_path() : ".";
    auto stems = partial_stems_.find(dir);
    if (stems == partial_stems_.end()) stems = partial_stems_.emplace(dir, partial_stems_in(dir)).first;
    po.scan = stems->second.count(partial_stem(f.dest.filename().string())) != 0;
    HUBLOAD_ASSIGN_OR_RETURN(auto p, PartialFile::open(f.dest.string(), f.size, hash, po));
    job.partial = std::move(p);
  }
  const std::uint64_t conns = static_cast<std::uint64_t>(budget_->slots());
  std::uint64_t piece = std::clamp<std::uint64_t>((f.size + conns - 1) / conns, opt_.min_split, opt_.chunk_size);
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
  ++job.generation;
  advance_prefix(job, true);
  return ok();
}

void Engine::advance_prefix(Job& job, bool begun) {
  const std::uint64_t prefix = job.planner->done().prefix_end();
  job.verifier->set_prefix(prefix);
  if (opt_.on_prefix && (begun || prefix > job.reported_prefix)) {
    job.reported_prefix = prefix;
    opt_.on_prefix({job.index, job.partial->data_path(), prefix, job.generation});
  }
}

void Engine::start_pending_jobs(Clock::time_point now) {
  // Files open a few at a time (TransferOptions::max_open_files), so that a
  // repo of thousands of files stays within the descriptor limit.
  const auto max_open = static_cast<std::ptrdiff_t>(opt_.max_open_files > 0 ? opt_.max_open_files : 2 * limit_);
  std::ptrdiff_t open = std::count_if(jobs_.begin(), jobs_.end(), [](const Job& j) { return j.state == JobState::active; });
  for (auto& job : jobs_) {
    if (open >= max_open) return;
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
    ++open;
    job.last_journal = now;
    job.last_gain = now;
    job.most_done = job.planner->done().covered();
    emit(TransferEventKind::start, job);
  }
}

// Silence, a drip under min_rate, or a request past its deadline: the
// connection is stopped (in run(), outside the callbacks) and retried.
void Engine::check_stalls(Clock::time_point now) {
  const auto window = opt_.stall_timeout;
  for (auto& c : conns_) {
    if (c.doomed || c.stalled) continue;
    if (now - c.started > opt_.request_deadline) {
      c.stop_reason = "the request took longer than " + std::to_string(opt_.request_deadline.count()) + " ms";
    } else if (now - c.last_byte > window) {
      c.stop_reason = "no data for " + std::to_string(window.count()) + " ms";
    } else if (now - c.window_start >= window) {
      const auto elapsed = std::chrono::duration_cast<milliseconds>(now - c.window_start);
      const std::uint64_t needed = opt_.min_rate * static_cast<std::uint64_t>(elapsed.count()) / 1000;
      if (c.window_bytes >= needed) {
        c.window_start = now;
        c.window_bytes = 0;
      } else if (now - c.last_byte <= window / 2) {
        // Still sending, too slowly: a drip. (A connection that went quiet is
        // left to the silence check above, which names it for what it is.)
        c.stop_reason = std::to_string(c.window_bytes) + " bytes in " + std::to_string(elapsed.count()) +
                        " ms, under the minimum of " + std::to_string(opt_.min_rate) + " bytes/s";
      }
    }
    c.stalled = !c.stop_reason.empty();
  }
}

Result<TransferStats> Engine::run() {
  transport_ = opt_.transport ? opt_.transport : make_curl_transport();
  HUBLOAD_ASSIGN_OR_RETURN(session_, transport_->open_session(limit_));
  std::optional<Error> session_error;
  while (true) {
    auto now = Clock::now();
    // Finished files first, so the files they make room for start in this same turn.
    for (auto& job : jobs_) {
      if (job.state == JobState::active && job.conns == 0 && job.planner->complete()) finish_job(job);
    }
    start_pending_jobs(now);
    fill_connections(now);
    // After filling, so that the budget sees whether every slot is in use.
    budget_->record(std::exchange(unrecorded_bytes_, 0));
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
  stats_.connections = budget_->slots();
  return stats_;
}

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
