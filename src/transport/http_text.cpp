// Small pieces of HTTP text the Hub client and the transfer engine both read:
// URL origins, redirect targets, Content-Range.
#include <cctype>
#include <charconv>

#include "hubload/transport.h"
#include "util/terminal_text.h"

namespace hubload {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) s.remove_suffix(1);
  return s;
}

bool parse_u64(std::string_view s, std::uint64_t& out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

std::string url_origin(std::string_view url) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return {};
  const auto host_end = url.find_first_of("/?#", scheme_end + 3);
  std::string origin(url.substr(0, host_end));
  for (char& c : origin) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return origin;
}

std::string resolve_location(std::string_view url, std::string_view location) {
  location = trim(location);
  if (location.find("://") != std::string_view::npos) return std::string(location);
  if (location.starts_with("//")) return std::string(url.substr(0, url.find("://") + 1)) + std::string(location);
  if (location.starts_with('/')) return url_origin(url) + std::string(location);
  // Relative to the directory of the answering URL's path.
  std::string base(url.substr(0, url.find_first_of("?#")));
  const auto path_start = base.find('/', base.find("://") + 3);
  if (path_start == std::string::npos) return base + "/" + std::string(location);
  return base.substr(0, base.rfind('/') + 1) + std::string(location);
}

namespace {

// The scheme of `url`, lower-cased; empty when it has none.
std::string scheme_of(std::string_view url) {
  const auto end = url.find("://");
  if (end == std::string_view::npos) return {};
  std::string scheme(url.substr(0, end));
  for (char& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return scheme;
}

}  // namespace

Status check_fetchable_url(std::string_view url) {
  const std::string scheme = scheme_of(url);
  if (scheme == "http" || scheme == "https") return ok();
  return invalid_input("refusing to fetch '" + util_internal::terminal_excerpt(url) +
                       "': only http:// and https:// URLs are followed");
}

Status check_redirect_target(std::string_view start, std::string_view target) {
  HUBLOAD_TRY(check_fetchable_url(target));
  if (scheme_of(start) == "https" && scheme_of(target) == "http") {
    return invalid_input("refusing the redirect from " + util_internal::terminal_excerpt(start) + " to '" +
                         util_internal::terminal_excerpt(target) + "': it falls from https to plain http");
  }
  return ok();
}

std::optional<ContentRange> parse_content_range(std::string_view v) {
  v = trim(v);
  if (v.substr(0, 6) != "bytes ") return std::nullopt;
  v.remove_prefix(6);
  auto dash = v.find('-');
  auto slash = v.find('/');
  if (dash == std::string_view::npos || slash == std::string_view::npos || dash > slash) return std::nullopt;
  ContentRange r;
  if (!parse_u64(v.substr(0, dash), r.first) || !parse_u64(v.substr(dash + 1, slash - dash - 1), r.last) ||
      !parse_u64(v.substr(slash + 1), r.total) || r.last < r.first || r.last >= r.total) {
    return std::nullopt;
  }
  return r;
}

}  // namespace hubload
