// A Transport wrapper for tests: records every request (so a test can count
// them or check which headers reached which host) and injects faults into the
// ones that match a rule, in the spirit of leveldb's EnvWrapper.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "hubload/transport.h"

namespace hubload {

enum class Fault {
  drop,          // forward `after_bytes` body bytes, then fail as a reset connection
  stall,         // forward `after_bytes` body bytes, then fail as a stalled transfer
  server_error,  // answer 503 without reaching the server
  rate_limit,    // answer 429 with Retry-After: 1 without reaching the server
};

struct FaultRule {
  Fault fault = Fault::drop;
  std::string method;        // empty: any method
  std::string url_contains;  // empty: any URL
  int times = 1;             // how many matching requests fail; -1: all of them
  std::uint64_t after_bytes = 0;
};

class FaultInjectingTransport final : public Transport {
 public:
  explicit FaultInjectingTransport(std::shared_ptr<Transport> inner) : inner_(std::move(inner)) {}

  void add_rule(FaultRule rule);
  Result<HttpResponse> send(const HttpRequest& request) override;

  std::vector<HttpRequest> requests() const;  // copies, sinks cleared
  int count(std::string_view method, std::string_view url_contains = {}) const;
  int faults_injected() const;

 private:
  std::shared_ptr<Transport> inner_;
  mutable std::mutex mu_;
  std::vector<FaultRule> rules_;
  std::vector<HttpRequest> log_;
  int injected_ = 0;
};

}  // namespace hubload
