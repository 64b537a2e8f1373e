#include "hubload/faults.h"

#include <fnmatch.h>

#include <charconv>
#include <string>

namespace hubload {
namespace {

template <class T>
bool parse_number(std::string_view s, T& out) {
  if constexpr (std::is_floating_point_v<T>) {
    try {
      std::size_t used = 0;
      out = std::stod(std::string(s), &used);
      return used == s.size() && out >= 0;
    } catch (...) {
      return false;
    }
  } else {
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && p == s.data() + s.size();
  }
}

}  // namespace

Result<FaultRule> parse_fault_rule(std::string_view spec) {
  auto bad = [&](std::string_view why) {
    return invalid_input("fault '" + std::string(spec) + "': " + std::string(why));
  };
  FaultRule rule;
  std::size_t comma = spec.find(',');
  std::string_view head = spec.substr(0, comma);
  std::string_view opts = comma == std::string_view::npos ? "" : spec.substr(comma + 1);
  std::size_t colon = head.find(':');
  std::string_view kind = head.substr(0, colon);
  std::string_view arg = colon == std::string_view::npos ? "" : head.substr(colon + 1);
  bool needs_arg = true;
  if (kind == "drop") {
    rule.kind = FaultRule::Kind::drop;
    if (!parse_number(arg, rule.bytes)) return bad("drop needs a byte count, e.g. drop:1000");
  } else if (kind == "stall") {
    rule.kind = FaultRule::Kind::stall;
    if (!parse_number(arg, rule.seconds)) return bad("stall needs seconds, e.g. stall:2");
  } else if (kind == "status") {
    rule.kind = FaultRule::Kind::http_error;
    if (!parse_number(arg, rule.status) || !(rule.status == 429 || (rule.status >= 500 && rule.status <= 599))) {
      return bad("status needs 429 or a 5xx code, e.g. status:503");
    }
  } else if (kind == "ignore-range") {
    rule.kind = FaultRule::Kind::ignore_range;
    needs_arg = false;
  } else if (kind == "corrupt") {
    rule.kind = FaultRule::Kind::corrupt;
    if (!parse_number(arg, rule.bytes)) return bad("corrupt needs a file offset, e.g. corrupt:100");
  } else {
    return bad("unknown kind '" + std::string(kind) + "' (drop, stall, status, ignore-range, corrupt)");
  }
  if (!needs_arg && !arg.empty()) return bad("takes no argument");
  while (!opts.empty()) {
    std::size_t next = opts.find(',');
    std::string_view kv = opts.substr(0, next);
    opts = next == std::string_view::npos ? "" : opts.substr(next + 1);
    std::size_t eq = kv.find('=');
    if (eq == std::string_view::npos) return bad("expected key=value, got '" + std::string(kv) + "'");
    std::string_view key = kv.substr(0, eq), value = kv.substr(eq + 1);
    bool ok = true;
    if (key == "path") rule.path_pattern = std::string(value), ok = !value.empty();
    else if (key == "prob") ok = parse_number(value, rule.probability) && rule.probability <= 1.0;
    else if (key == "first") ok = parse_number(value, rule.first_requests) && rule.first_requests >= 0;
    else if (key == "retry") ok = parse_number(value, rule.retry_after_s) && rule.retry_after_s >= 0;
    else if (key == "after") ok = parse_number(value, rule.bytes);
    else return bad("unknown key '" + std::string(key) + "' (path, prob, first, retry, after)");
    if (!ok) return bad("bad value for '" + std::string(key) + "'");
  }
  return rule;
}

FaultInjector::FaultInjector(FaultOptions options)
    : options_(std::move(options)), matched_(options_.rules.size(), 0), rng_(options_.seed) {}

void FaultInjector::reset(FaultOptions options) {
  std::lock_guard lock(mu_);
  options_ = std::move(options);
  matched_.assign(options_.rules.size(), 0);
  rng_.seed(options_.seed);
}

FaultPlan FaultInjector::plan(Scope scope, std::initializer_list<std::string_view> subjects) {
  FaultPlan plan;
  std::lock_guard lock(mu_);
  plan.limit_rate = options_.limit_rate;
  for (std::size_t i = 0; i < options_.rules.size(); ++i) {
    const FaultRule& rule = options_.rules[i];
    if ((rule.kind == FaultRule::Kind::http_error) != (scope == Scope::status)) continue;
    bool matches = false;
    for (std::string_view s : subjects) {
      if (!s.empty() && ::fnmatch(rule.path_pattern.c_str(), std::string(s).c_str(), 0) == 0) matches = true;
    }
    if (!matches) continue;
    std::uint64_t n = ++matched_[i];
    if (rule.first_requests >= 0 && n > static_cast<std::uint64_t>(rule.first_requests)) continue;
    if (rule.probability < 1.0 && std::uniform_real_distribution<double>(0, 1)(rng_) >= rule.probability) continue;
    switch (rule.kind) {
      case FaultRule::Kind::http_error:
        if (!plan.error) plan.error = rule;
        break;
      case FaultRule::Kind::drop: plan.drop_after = rule.bytes; break;
      case FaultRule::Kind::stall:
        plan.stall_after = rule.bytes;
        plan.stall_seconds = rule.seconds;
        break;
      case FaultRule::Kind::corrupt: plan.corrupt_at = rule.bytes; break;
      case FaultRule::Kind::ignore_range: plan.ignore_range = true; break;
    }
  }
  return plan;
}

}  // namespace hubload
