#include "support/request_log.h"

#include <string>
#include <utility>

namespace hubload::testing {

void RequestLog::record(const HttpRequest& request) {
  HttpRequest logged = request;
  logged.sink = nullptr;  // the sink belongs to a transfer that ends before the test reads the log
  std::lock_guard lock(mu_);
  log_.push_back(std::move(logged));
}

std::vector<HttpRequest> RequestLog::requests() const {
  std::lock_guard lock(mu_);
  return log_;
}

int RequestLog::count(std::string_view method, std::string_view url_contains) const {
  std::lock_guard lock(mu_);
  int n = 0;
  for (const HttpRequest& r : log_) {
    if ((method.empty() || r.method == method) && r.url.find(url_contains) != std::string::npos) ++n;
  }
  return n;
}

}  // namespace hubload::testing
