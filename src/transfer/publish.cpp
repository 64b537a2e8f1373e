// Verify-then-publish: the hash and size decide whether a file is renamed into
// place, fetched once more from scratch, or failed naming both hashes.
#include <sys/stat.h>

#include "transfer/engine_state.h"

namespace hubload::transfer_internal {

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

}  // namespace hubload::transfer_internal
