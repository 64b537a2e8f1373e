// `hubload cache ls` filters and sort keys, as `hf cache ls` spells them.
#include <algorithm>
#include <charconv>
#include <cstdlib>

#include <fmt/format.h>

#include "hubload/cache_manage.h"

namespace hubload {
namespace {

constexpr std::string_view kOps[] = {">=", "<=", "!=", "=", ">", "<"};  // longest first

Result<std::int64_t> parse_quantity(std::string_view text, std::string_view expr, bool age) {
  std::size_t digits = 0;
  while (digits < text.size() && ((text[digits] >= '0' && text[digits] <= '9') || text[digits] == '.')) ++digits;
  const std::string number(text.substr(0, digits));
  std::string unit(text.substr(digits));
  for (char& c : unit) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  char* end = nullptr;
  const double value = number.empty() ? -1 : std::strtod(number.c_str(), &end);
  double scale = -1;
  if (age) {
    if (unit == "s" || unit.empty()) scale = 1;
    if (unit == "m") scale = 60;
    if (unit == "h") scale = 3600;
    if (unit == "d") scale = 86400;
    if (unit == "w") scale = 7 * 86400;
  } else {
    const std::pair<std::string_view, double> units[] = {
        {"", 1},      {"b", 1},         {"kb", 1e3},      {"mb", 1e6},           {"gb", 1e9},
        {"tb", 1e12}, {"kib", 1024.0}, {"mib", 1048576.0}, {"gib", 1073741824.0}, {"tib", 1099511627776.0}};
    for (const auto& [name, factor] : units) {
      if (unit == name) scale = factor;
    }
  }
  if (value < 0 || scale < 0 || (end && *end != '\0')) {
    return invalid_input(fmt::format("filter '{}': '{}' is not {}", expr, text,
                                     age ? "an age such as 7d, 12h, 30m or 2w" : "a size such as 1GB, 500MB or 2GiB"));
  }
  return static_cast<std::int64_t>(value * scale);
}

template <class T>
bool compare(const T& a, std::string_view op, const T& b) {
  if (op == "=") return a == b;
  if (op == "!=") return a != b;
  if (op == ">") return a > b;
  if (op == ">=") return a >= b;
  if (op == "<") return a < b;
  return a <= b;
}

}  // namespace

Result<RepoFilter> parse_repo_filter(std::string_view expr) {
  RepoFilter f;
  for (std::string_view op : kOps) {
    const auto at = expr.find(op);
    if (at == std::string_view::npos || at == 0) continue;
    f.key = std::string(expr.substr(0, at));
    f.op = std::string(op);
    f.text = std::string(expr.substr(at + op.size()));
    break;
  }
  if (f.op.empty() || f.text.empty()) {
    return invalid_input(fmt::format("filter '{}' is not KEY OP VALUE (e.g. size>1GB, type=model, accessed>7d)", expr));
  }
  if (f.key == "size" || f.key == "accessed" || f.key == "modified") {
    HUBLOAD_ASSIGN_OR_RETURN(f.number, parse_quantity(f.text, expr, f.key != "size"));
    return f;
  }
  if (f.key == "type" || f.key == "refs") {
    if (f.op != "=" && f.op != "!=") return invalid_input(fmt::format("filter '{}': {} takes = or !=", expr, f.key));
    if (f.key == "type") HUBLOAD_TRY(parse_repo_type(f.text));
    return f;
  }
  return invalid_input(fmt::format("filter '{}': unknown key '{}' (size, type, accessed, modified, refs)", expr, f.key));
}

bool repo_matches(const CachedRepo& repo, const RepoFilter& f, std::int64_t now_unix) {
  if (f.key == "size") return compare<std::int64_t>(static_cast<std::int64_t>(repo.size), f.op, f.number);
  if (f.key == "accessed") return compare<std::int64_t>(now_unix - repo.last_accessed, f.op, f.number);
  if (f.key == "modified") return compare<std::int64_t>(now_unix - repo.last_modified, f.op, f.number);
  if (f.key == "type") return compare<std::string>(std::string(to_string(repo.type)), f.op, f.text);
  const bool has = repo.refs.count(f.text) > 0;
  return f.op == "=" ? has : !has;
}

Result<RepoSort> parse_repo_sort(std::string_view expr) {
  RepoSort s;
  const auto colon = expr.find(':');
  s.key = std::string(expr.substr(0, colon));
  if (s.key != "accessed" && s.key != "modified" && s.key != "name" && s.key != "size") {
    return invalid_input(fmt::format("sort key '{}' is not accessed, modified, name or size", s.key));
  }
  s.descending = s.key != "name";
  if (colon != std::string_view::npos) {
    const std::string_view order = expr.substr(colon + 1);
    if (order != "asc" && order != "desc") return invalid_input(fmt::format("sort order '{}' is not asc or desc", order));
    s.descending = order == "desc";
  }
  return s;
}

void sort_repos(std::vector<const CachedRepo*>& repos, const RepoSort& sort) {
  auto key_less = [&](const CachedRepo* a, const CachedRepo* b) {
    if (sort.key == "size") return a->size < b->size;
    if (sort.key == "accessed") return a->last_accessed < b->last_accessed;
    if (sort.key == "modified") return a->last_modified < b->last_modified;
    return a->display_id() < b->display_id();
  };
  std::stable_sort(repos.begin(), repos.end(), [&](const CachedRepo* a, const CachedRepo* b) {
    return sort.descending ? key_less(b, a) : key_less(a, b);
  });
}

}  // namespace hubload
