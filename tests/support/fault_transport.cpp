#include "support/fault_transport.h"

#include <chrono>
#include <map>

#include <fmt/format.h>

#include "transport/session_send.h"

namespace hubload::testing {

using Clock = std::chrono::steady_clock;

// One transfer of a FaultSession: the faults planned for it and the state of
// the body as it passes through.
struct FaultEntry {
  TransferHandler handler;
  FaultPlan plan;
  std::string what;  // "GET <url>" for messages
  TransferId inner = 0;
  bool synthetic = false;           // an injected http_error: never reaches the inner transport
  std::uint64_t file_offset = 0;    // file offset of the body's first byte (from Content-Range)
  std::uint64_t seen = 0;           // body bytes that came from the inner transport
  bool dropped = false;
  bool paused = false;              // a stall holds the body until resume_at
  Clock::time_point resume_at{};
  std::string held;
  std::optional<Status> held_done;
};

class FaultSession final : public TransferSession {
 public:
  FaultSession(FaultTransport& owner, std::unique_ptr<TransferSession> inner)
      : owner_(owner), inner_(std::move(inner)) {}
  ~FaultSession() override {
    for (std::size_t i = 0; i < entries_.size(); ++i) owner_.track(-1);
  }

  Result<TransferId> start(HttpRequest request, TransferHandler handler) override {
    auto e = std::make_shared<FaultEntry>();
    e->handler = std::move(handler);
    e->plan = owner_.admit(request);
    e->what = request.method + " " + request.url;
    const TransferId id = next_id_++;
    entries_[id] = e;
    owner_.track(+1);
    if (e->plan.error) {
      e->synthetic = true;
      ready_.push_back(id);
      return id;
    }
    if (e->plan.ignore_range) request.range.reset();
    TransferHandler inner;
    inner.on_response = [e](int status, const HttpHeaders& headers) {
      if (status == 206) {
        if (auto cr = parse_content_range(headers.get("Content-Range").value_or(""))) e->file_offset = cr->first;
      }
      if (e->handler.on_response) e->handler.on_response(status, headers);
    };
    inner.on_body = [this, e](std::span<const char> chunk) { return on_body(*e, chunk); };
    inner.on_done = [this, id, e](Status result) {
      if (e->dropped) result = network_error(e->what + ": Connection reset by peer (injected)");
      if (e->paused) {
        e->held_done = std::move(result);
        return;
      }
      forget(id);
      if (e->handler.on_done) e->handler.on_done(std::move(result));
    };
    HUBLOAD_ASSIGN_OR_RETURN(e->inner, inner_->start(std::move(request), std::move(inner)));
    return id;
  }

  void cancel(TransferId id) override {
    auto it = entries_.find(id);
    if (it == entries_.end()) return;
    std::shared_ptr<FaultEntry> e = it->second;
    forget(id);
    e->handler = {};
    if (!e->synthetic) inner_->cancel(e->inner);
  }

  Status poll(std::chrono::milliseconds timeout) override {
    bool delivered = deliver_synthetic();
    delivered = resume_stalled() || delivered;
    // A stalled transfer wakes up on time even if the network is quiet.
    for (const auto& [id, e] : entries_) {
      if (e->paused) timeout = std::min(timeout, std::chrono::ceil<std::chrono::milliseconds>(e->resume_at - Clock::now()));
    }
    return inner_->poll(delivered ? std::chrono::milliseconds(0) : std::max(timeout, std::chrono::milliseconds(0)));
  }

 private:
  // Forgets a transfer that ended or was cancelled.
  void forget(TransferId id) {
    if (entries_.erase(id) != 0) owner_.track(-1);
  }

  bool on_body(FaultEntry& e, std::span<const char> chunk) {
    std::string bytes(chunk.data(), chunk.size());
    const std::uint64_t at = e.seen;
    e.seen += bytes.size();
    if (e.plan.corrupt_at && *e.plan.corrupt_at >= e.file_offset + at &&
        *e.plan.corrupt_at < e.file_offset + e.seen) {
      bytes[*e.plan.corrupt_at - e.file_offset - at] ^= 0x5a;  // as the server does
    }
    if (e.paused) {
      e.held += bytes;
      return true;
    }
    std::size_t pass = bytes.size();
    if (e.plan.drop_after && e.seen > *e.plan.drop_after) pass = static_cast<std::size_t>(*e.plan.drop_after - at);
    if (e.plan.stall_after && e.seen > *e.plan.stall_after && *e.plan.stall_after >= at) {
      pass = std::min<std::size_t>(pass, static_cast<std::size_t>(*e.plan.stall_after - at));
      e.paused = true;
      e.resume_at = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                       std::chrono::duration<double>(e.plan.stall_seconds));
      e.held = bytes.substr(pass);
      e.plan.stall_after.reset();
    }
    if (pass > 0 && e.handler.on_body && !e.handler.on_body(std::span<const char>(bytes.data(), pass))) return false;
    if (e.plan.drop_after && e.seen > *e.plan.drop_after) {
      e.dropped = true;
      return false;
    }
    return true;
  }

  bool deliver_synthetic() {
    bool any = false;
    for (TransferId id : std::exchange(ready_, {})) {
      auto it = entries_.find(id);
      if (it == entries_.end()) continue;
      std::shared_ptr<FaultEntry> e = it->second;
      forget(id);
      const FaultRule& rule = *e->plan.error;
      HttpHeaders headers;
      headers.set("Retry-After", std::to_string(rule.retry_after_s));
      if (rule.status == 429) headers.set("RateLimit", "\"api\";r=0;t=" + std::to_string(rule.retry_after_s));
      const std::string body = fmt::format("injected HTTP {}", rule.status);
      if (e->handler.on_response) e->handler.on_response(rule.status, headers);
      if (e->handler.on_body) e->handler.on_body(std::span<const char>(body.data(), body.size()));
      if (e->handler.on_done) e->handler.on_done(ok());
      any = true;
    }
    return any;
  }

  bool resume_stalled() {
    bool any = false;
    const auto now = Clock::now();
    std::vector<std::pair<TransferId, std::shared_ptr<FaultEntry>>> due;
    for (const auto& [id, e] : entries_) {
      if (e->paused && now >= e->resume_at) due.emplace_back(id, e);
    }
    for (auto& [id, e] : due) {
      if (entries_.count(id) == 0) continue;  // cancelled by an earlier callback
      e->paused = false;
      any = true;
      std::string held = std::exchange(e->held, {});
      if (!held.empty() && e->handler.on_body && !e->handler.on_body(std::span<const char>(held.data(), held.size()))) {
        cancel(id);
        continue;
      }
      if (e->held_done) {
        forget(id);
        if (e->handler.on_done) e->handler.on_done(std::move(*e->held_done));
      }
    }
    return any;
  }

  FaultTransport& owner_;
  std::unique_ptr<TransferSession> inner_;
  std::map<TransferId, std::shared_ptr<FaultEntry>> entries_;
  std::vector<TransferId> ready_;
  TransferId next_id_ = 1;
};

void FaultTransport::set_rule(FaultRule rule) {
  FaultOptions faults;
  faults.rules.push_back(std::move(rule));
  set_faults(std::move(faults));
}

FaultPlan FaultTransport::admit(const HttpRequest& request) {
  const std::string& url = request.url;
  const auto host = url.find("://");
  const auto path_at = host == std::string::npos ? 0 : url.find('/', host + 3);
  const std::string path = path_at == std::string::npos ? "/" : url.substr(path_at);
  FaultPlan plan = injector_.plan(FaultInjector::Scope::status, {url, path});
  if (!plan.error && request.method == "GET") plan = injector_.plan(FaultInjector::Scope::body, {url, path});
  log_.record(request);
  std::lock_guard lock(mu_);
  if (plan.error || plan.drop_after || plan.stall_after || plan.corrupt_at || plan.ignore_range) ++injected_;
  return plan;
}

Result<std::unique_ptr<TransferSession>> FaultTransport::open_session(int max_connections) {
  HUBLOAD_ASSIGN_OR_RETURN(std::unique_ptr<TransferSession> inner, inner_->open_session(max_connections));
  return std::unique_ptr<TransferSession>(std::make_unique<FaultSession>(*this, std::move(inner)));
}

// One transfer through a FaultSession, so blocking requests meet the same faults.
Result<HttpResponse> FaultTransport::send(const HttpRequest& request) {
  HUBLOAD_ASSIGN_OR_RETURN(std::unique_ptr<TransferSession> session, open_session(1));
  return transport_internal::send_through_session(*session, request);
}

void FaultTransport::track(int delta) {
  std::lock_guard lock(mu_);
  in_flight_ += delta;
  max_in_flight_ = std::max(max_in_flight_, in_flight_);
}

int FaultTransport::max_in_flight() const {
  std::lock_guard lock(mu_);
  return max_in_flight_;
}

int FaultTransport::faults_injected() const {
  std::lock_guard lock(mu_);
  return injected_;
}

}  // namespace hubload::testing
