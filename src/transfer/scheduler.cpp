// Scheduling: which file gets the next connection (fewest first, one shared
// budget), the range request each connection makes (following redirects, the
// token only to the file's own host), and where its body goes.
#include <unistd.h>

#include <algorithm>

#include "transfer/engine_state.h"
#include "util/terminal_text.h"

namespace hubload::transfer_internal {

void Engine::fill_connections(Clock::time_point now) {
  if (now < global_not_before_) return;
  while (active_ < limit_) {
    // The shared slot is taken before anything is assigned (an assignment may
    // split a range); if nothing starts it is given back on leaving.
    BudgetSlot slot = BudgetSlot::take(budget_.get());
    if (!slot) return;
    // Bytes no connection has yet come before splitting a range in flight:
    // the split range's connection is stopped at the split, and what the
    // server had already sent past it is fetched twice. Among those, fewest
    // connections first, so every file gets one before any gets more.
    Job* best = nullptr;
    bool best_unassigned = false;
    for (auto& job : jobs_) {
      if (job.state != JobState::active || now < job.not_before) continue;
      if (!job.ranges_ok && job.conns > 0) continue;
      if (job.planner->complete()) continue;
      const bool unassigned = job.planner->has_unassigned();
      if (!best || unassigned > best_unassigned || (unassigned == best_unassigned && job.conns < best->conns)) {
        best = &job;
        best_unassigned = unassigned;
      }
    }
    if (!best) return;
    auto a = best->planner->assign(piece_cap());
    bool started = a && start_conn(*best, *a, slot);
    if (!started) {
      // Nothing left to hand out for this file: try the others once.
      bool any = false;
      for (auto& job : jobs_) {
        if (&job == best || job.state != JobState::active || now < job.not_before || job.planner->complete()) continue;
        if (!job.ranges_ok && job.conns > 0) continue;
        if (auto b = job.planner->assign(piece_cap()); b && start_conn(job, *b, slot)) {
          any = true;
          break;
        }
      }
      if (!any) return;
    }
  }
}

// Near the end of the call a new range is at most an even share of what is
// left per connection, so that the connections run out of work together and
// the tail needs few splits. Until then the cap is above every piece.
std::uint64_t Engine::piece_cap() const {
  std::uint64_t left = 0;
  for (const auto& job : jobs_) {
    if (job.state == JobState::pending) left += job.file->size;
    else if (job.state == JobState::active) left += job.planner->size() - job.planner->done().covered();
  }
  return left / static_cast<std::uint64_t>(std::max(1, budget_->slots()));
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
  c.last_byte = c.started = c.window_start = Clock::now();
  c.window_bytes = 0;
  c.stop_reason.clear();
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
      c.fatal = invalid_input(job.name + ": asked " + util_internal::terminal_safe(c.url) + " for bytes from " + std::to_string(c.pos) + " of " +
                              std::to_string(job.file->size) + ", server answered Content-Range '" + util_internal::terminal_excerpt(value) + "'");
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
      if (auto location = headers.get("Location")) {
        std::string target = resolve_location(c.url, *location);
        // Only http(s), and never down from https: a file:// or gopher:// Location
        // would reach a local file or socket.
        if (Status allowed = check_redirect_target(job.file->url, target); !allowed) {
          c.fatal = std::move(allowed).error().with_context(job.name);
        } else {
          c.redirect_to = std::move(target);
        }
      }
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
  // Continuing the hashed prefix: hashed from this buffer, not read back.
  (void)job.verifier->hash_written(c.pos, std::span(p, take));
  c.pos += take;
  c.last_byte = Clock::now();
  c.window_bytes += take;
  stats_.bytes_received += take;
  unrecorded_bytes_ += take;
  job.planner->advance(c.slot, c.pos);
  if (const std::uint64_t done = job.planner->done().covered(); done > job.most_done) {
    job.most_done = done;
    job.failures = 0;  // attempts in a row count only while the file gains no new byte
    job.last_gain = c.last_byte;
  }
  advance_prefix(job);
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

void Engine::abandon_conns(Job& job) {
  for (auto& c : conns_) {
    if (c.job == &job) c.doomed = true;
  }
}

}  // namespace hubload::transfer_internal
