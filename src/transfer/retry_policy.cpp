#include "transfer/retry_policy.h"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace hubload::transfer_internal {

namespace {
std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) s.remove_suffix(1);
  return s;
}

std::optional<long long> parse_int(std::string_view s) {
  s = trim(s);
  long long v = 0;
  if (s.empty() || s.size() > 12) return std::nullopt;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v < 0) return std::nullopt;
  return v;
}
}  // namespace

std::optional<std::chrono::seconds> parse_retry_after(std::string_view value) {
  auto v = parse_int(value);
  if (!v) return std::nullopt;
  return std::chrono::seconds(*v);
}

std::optional<std::chrono::seconds> parse_ratelimit_reset(std::string_view value) {
  std::optional<long long> best_exhausted, best_any;
  while (!value.empty()) {
    auto comma = value.find(',');
    std::string_view policy = value.substr(0, comma);
    value = comma == std::string_view::npos ? std::string_view() : value.substr(comma + 1);
    std::optional<long long> r, t;
    while (!policy.empty()) {
      auto semi = policy.find(';');
      std::string_view param = trim(policy.substr(0, semi));
      policy = semi == std::string_view::npos ? std::string_view() : policy.substr(semi + 1);
      if (param.size() > 2 && param[1] == '=') {
        if (param[0] == 'r') r = parse_int(param.substr(2));
        if (param[0] == 't') t = parse_int(param.substr(2));
      }
    }
    if (!t) continue;
    best_any = std::max(best_any.value_or(0), *t);
    if (r && *r == 0) best_exhausted = std::max(best_exhausted.value_or(0), *t);
  }
  if (best_exhausted) return std::chrono::seconds(*best_exhausted);
  if (best_any) return std::chrono::seconds(*best_any);
  return std::nullopt;
}

std::chrono::milliseconds backoff_delay(int attempt, std::chrono::milliseconds base,
                                        std::chrono::milliseconds max, double unit_random) {
  attempt = std::clamp(attempt, 1, 40);
  double full = std::min(static_cast<double>(max.count()), base.count() * std::ldexp(1.0, attempt - 1));
  double jitter = 0.5 + 0.5 * std::clamp(unit_random, 0.0, 1.0);
  return std::chrono::milliseconds(static_cast<long long>(full * jitter));
}

bool is_retryable_status(long status) { return status == 408 || status == 429 || (status >= 500 && status <= 599); }

}  // namespace hubload::transfer_internal
