// The requests a test Transport saw, for tests that count them or check which
// headers reached which host. Thread-safe: the transfer engine sends from many threads.
#pragma once

#include <mutex>
#include <string_view>
#include <vector>

#include "hubload/transport.h"

namespace hubload::testing {

class RequestLog {
 public:
  void record(const HttpRequest& request);  // a copy without its body sink
  std::vector<HttpRequest> requests() const;
  // Requests with this method ("" for any) whose URL contains `url_contains`.
  int count(std::string_view method, std::string_view url_contains = {}) const;

 private:
  mutable std::mutex mu_;
  std::vector<HttpRequest> log_;
};

}  // namespace hubload::testing
