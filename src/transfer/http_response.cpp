#include "transfer/http_response.h"

#include <charconv>

namespace hubload::transfer {

namespace {
bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i] >= 'A' && a[i] <= 'Z' ? static_cast<char>(a[i] + 32) : a[i];
    char y = b[i] >= 'A' && b[i] <= 'Z' ? static_cast<char>(b[i] + 32) : b[i];
    if (x != y) return false;
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) s.remove_suffix(1);
  return s;
}

bool parse_ull(std::string_view s, unsigned long long& out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}
}  // namespace

void ResponseHeaders::on_line(std::string_view line) {
  if (line.substr(0, 5) == "HTTP/") {
    *this = ResponseHeaders{};
    return;
  }
  auto colon = line.find(':');
  if (colon == std::string_view::npos) return;
  std::string_view name = trim(line.substr(0, colon));
  std::string_view value = trim(line.substr(colon + 1));
  if (iequals(name, "content-range")) content_range = value;
  else if (iequals(name, "retry-after")) retry_after = value;
  else if (iequals(name, "ratelimit")) ratelimit = value;
}

std::optional<ContentRange> parse_content_range(std::string_view v) {
  v = trim(v);
  if (v.substr(0, 6) != "bytes ") return std::nullopt;
  v.remove_prefix(6);
  auto dash = v.find('-');
  auto slash = v.find('/');
  if (dash == std::string_view::npos || slash == std::string_view::npos || dash > slash) return std::nullopt;
  ContentRange r;
  if (!parse_ull(v.substr(0, dash), r.first) || !parse_ull(v.substr(dash + 1, slash - dash - 1), r.last) ||
      !parse_ull(v.substr(slash + 1), r.total) || r.last < r.first) {
    return std::nullopt;
  }
  return r;
}

}  // namespace hubload::transfer
