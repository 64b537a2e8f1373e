#include "transport/fault_transport.h"

#include <fmt/format.h>

namespace hubload {
namespace {

bool matches(const FaultRule& rule, const HttpRequest& request) {
  if (rule.times == 0) return false;
  if (!rule.method.empty() && rule.method != request.method) return false;
  return rule.url_contains.empty() || request.url.find(rule.url_contains) != std::string::npos;
}

}  // namespace

void FaultInjectingTransport::add_rule(FaultRule rule) {
  std::lock_guard lock(mu_);
  rules_.push_back(std::move(rule));
}

Result<HttpResponse> FaultInjectingTransport::send(const HttpRequest& request) {
  std::optional<FaultRule> fault;
  {
    std::lock_guard lock(mu_);
    HttpRequest logged = request;
    logged.sink = nullptr;
    log_.push_back(std::move(logged));
    for (FaultRule& rule : rules_) {
      if (!matches(rule, request)) continue;
      if (rule.times > 0) --rule.times;
      fault = rule;
      ++injected_;
      break;
    }
  }
  if (!fault) return inner_->send(request);

  switch (fault->fault) {
    case Fault::server_error: {
      HttpResponse response;
      response.status = 503;
      response.body = "injected 503";
      return response;
    }
    case Fault::rate_limit: {
      HttpResponse response;
      response.status = 429;
      response.headers.set("Retry-After", "1");
      response.body = "injected 429";
      return response;
    }
    case Fault::drop:
    case Fault::stall: {
      // Forward a prefix of the body, then cut the transfer the way libcurl
      // reports a reset or a low-speed timeout.
      const std::string what = fault->fault == Fault::drop
                                   ? "Connection reset by peer (injected)"
                                   : "Timeout was reached: transfer stalled (injected)";
      HttpRequest cut = request;
      std::uint64_t left = fault->after_bytes;
      bool tripped = false;
      const BodySink original = request.sink;
      std::string collected;
      cut.sink = [&](std::span<const char> chunk) -> Status {
        const std::uint64_t take = std::min<std::uint64_t>(left, chunk.size());
        if (take > 0) {
          if (original) {
            HUBLOAD_TRY(original(chunk.first(take)));
          } else {
            collected.append(chunk.data(), take);
          }
          left -= take;
        }
        if (take < chunk.size()) {
          tripped = true;
          return network_error(fmt::format("{} {}: {}", request.method, request.url, what));
        }
        return ok();
      };
      Result<HttpResponse> response = inner_->send(cut);
      if (!response) return response;
      // A HEAD, an error answer or a body shorter than the cut point: the
      // connection still drops before the exchange completes.
      if (!tripped) return network_error(fmt::format("{} {}: {}", request.method, request.url, what));
      return response;
    }
  }
  return internal_error("unknown fault");
}

std::vector<HttpRequest> FaultInjectingTransport::requests() const {
  std::lock_guard lock(mu_);
  return log_;
}

int FaultInjectingTransport::count(std::string_view method, std::string_view url_contains) const {
  std::lock_guard lock(mu_);
  int n = 0;
  for (const HttpRequest& r : log_) {
    if ((method.empty() || r.method == method) &&
        (url_contains.empty() || r.url.find(url_contains) != std::string::npos)) {
      ++n;
    }
  }
  return n;
}

int FaultInjectingTransport::faults_injected() const {
  std::lock_guard lock(mu_);
  return injected_;
}

}  // namespace hubload
