// A Transport wrapper for tests: records every request (so a test can count
// them or check which headers reached which host) and injects the faults of
// hubload's own server (faults.h: drop, stall, http_error, ignore_range,
// corrupt) on the client side of the seam, into blocking send() calls and into
// the transfer engine's sessions alike, in the spirit of leveldb's EnvWrapper.
//
// Rules match the request URL (fnmatch, `*` crosses `/`; e.g. "*cdn*" or
// "*/resolve/*") or its path. As on the server, http_error rules are decided
// for every request and the body faults only for GETs. A drop cuts the
// connection after `bytes` body bytes the way a reset does; a stall holds the
// body after `bytes` bytes for `seconds`.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "hubload/faults.h"
#include "hubload/transport.h"
#include "support/request_log.h"

namespace hubload::testing {

class FaultTransport final : public Transport {
 public:
  explicit FaultTransport(std::shared_ptr<Transport> inner, FaultOptions faults = {})
      : inner_(std::move(inner)), injector_(std::move(faults)) {}

  // Replaces the rules; their counters restart.
  void set_faults(FaultOptions faults) { injector_.reset(std::move(faults)); }
  void set_rule(FaultRule rule);  // just this one rule

  Result<HttpResponse> send(const HttpRequest& request) override;
  Result<std::unique_ptr<TransferSession>> open_session(int max_connections) override;

  std::vector<HttpRequest> requests() const { return log_.requests(); }  // copies, sinks cleared
  int count(std::string_view method, std::string_view url_contains = {}) const {
    return log_.count(method, url_contains);
  }
  int faults_injected() const;
  // The most transfers that were in flight at once, over all sessions.
  int max_in_flight() const;

 private:
  friend class FaultSession;
  // Records the request and decides its faults.
  FaultPlan admit(const HttpRequest& request);
  void track(int delta);  // transfers starting (+1) or ending (-1)

  std::shared_ptr<Transport> inner_;
  FaultInjector injector_;
  RequestLog log_;
  mutable std::mutex mu_;
  int injected_ = 0;
  int in_flight_ = 0;
  int max_in_flight_ = 0;
};

}  // namespace hubload::testing
