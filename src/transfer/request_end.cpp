// Retry policy for one ended request: its range done, a redirect to follow, a
// failure to retry (after the backoff, Retry-After or RateLimit wait; a 429
// also makes every file wait, and a 429 or 503 sheds connections), or one that
// fails the file.
#include <algorithm>

#include "transfer/retry_policy.h"

#include "transfer/engine_state.h"
#include "util/terminal_text.h"

namespace hubload::transfer_internal {

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
    return;
  }
  job.planner->release(c->slot);
  if (c->fatal) {
    fail_job(job, *c->fatal);
    return;
  }
  const int status = c->status;
  std::string where = util_internal::terminal_safe(c->url) + " (bytes " + std::to_string(c->pos) + "-" + std::to_string(end - 1) + ")";
  std::string reason;
  if (c->stalled) {
    reason = c->stop_reason;
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
  ++job.failures_total;
  ++stats_.retries;
  // Bounded in count (in a row without a new byte, and in all) and in time.
  std::string exhausted;
  if (job.failures > opt_.max_attempts) {
    exhausted = std::to_string(opt_.max_attempts) + " attempts";
  } else if (job.failures_total > opt_.max_total_attempts) {
    exhausted = std::to_string(opt_.max_total_attempts) + " attempts in all";
  } else if (Clock::now() - job.last_gain > opt_.retry_time_budget) {
    exhausted = std::to_string(opt_.retry_time_budget.count()) + " ms of retries without a new byte";
  }
  if (!exhausted.empty()) {
    ErrorKind kind = status == 429 ? ErrorKind::rate_limited : ErrorKind::network;
    fail_job(job, Error(kind, job.name + ": giving up after " + exhausted + ": " + reason + " from " + where));
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
  if (status == 429) global_not_before_ = std::max(global_not_before_, until);  // rate limited: everybody waits
  // Overloaded: fewer connections come back (the budget grows again once the
  // rate rises with them).
  if (status == 429 || status == 503) budget_->overloaded();
  emit(TransferEventKind::retry, job, reason + " from " + where + "; retrying in " + std::to_string(delay.count()) + " ms");
}

}  // namespace hubload::transfer_internal
