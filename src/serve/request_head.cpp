#include "serve/request_head.h"

#include <charconv>

namespace hubload::serve_internal {
namespace {

bool is_token_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!is_token_char(c)) return false;
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  }
  return true;
}

bool parse_request_line(std::string_view line, httplib::Request& req) {
  std::size_t sp1 = line.find(' ');
  if (sp1 == std::string_view::npos) return false;
  std::size_t sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos) return false;
  std::string_view method = line.substr(0, sp1), target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = line.substr(sp2 + 1);
  if (!is_token(method) || target.empty() || (version != "HTTP/1.1" && version != "HTTP/1.0")) return false;
  for (char c : target) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return false;
  }
  req.method = method;
  req.target = target;
  req.version = version;
  std::size_t q = target.find('?');
  req.path = httplib::detail::decode_url(std::string(target.substr(0, q)), false);
  if (q != std::string_view::npos) httplib::detail::parse_query_text(std::string(target.substr(q + 1)), req.params);
  return true;
}

}  // namespace

std::optional<std::size_t> head_end(std::string_view buffered) {
  std::size_t end = buffered.find("\r\n\r\n");
  if (end == std::string_view::npos) return std::nullopt;
  return end + 4;
}

std::optional<RequestHead> parse_request_head(std::string_view head) {
  RequestHead out;
  std::size_t eol = head.find("\r\n");
  if (eol == std::string_view::npos || !parse_request_line(head.substr(0, eol), out.request)) return std::nullopt;
  std::optional<std::uint64_t> length;
  for (std::size_t pos = eol + 2; pos < head.size();) {
    eol = head.find("\r\n", pos);
    if (eol == std::string_view::npos) return std::nullopt;
    std::string_view line = head.substr(pos, eol - pos);
    pos = eol + 2;
    if (line.empty()) break;  // the blank line that ends the head
    std::size_t colon = line.find(':');
    // No obsolete line folding, no space before the colon: both are ways to smuggle a header.
    if (colon == std::string_view::npos || !is_token(line.substr(0, colon))) return std::nullopt;
    std::string_view name = line.substr(0, colon), value = trim(line.substr(colon + 1));
    if (iequals(name, "Content-Length")) {
      std::uint64_t n = 0;
      auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (value.empty() || ec != std::errc() || p != value.data() + value.size()) return std::nullopt;
      if (length && *length != n) return std::nullopt;  // two lengths: which body is it?
      length = n;
    } else if (iequals(name, "Transfer-Encoding")) {
      out.chunked = true;
    }
    out.request.headers.emplace(std::string(name), std::string(value));
  }
  out.content_length = length.value_or(0);
  return out;
}

}  // namespace hubload::serve_internal
