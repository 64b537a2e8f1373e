// The resume journal and sync policy: written bytes are claimed at once,
// stable ones synced once sync_delay has passed (TransferOptions::sync_delay).
#include "transfer/engine_state.h"

namespace hubload::transfer_internal {

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

}  // namespace hubload::transfer_internal
