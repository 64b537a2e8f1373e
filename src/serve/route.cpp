#include "serve/route.h"

#include <vector>

#include "util/percent_encoding.h"

namespace hubload::serve_internal {
namespace {

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  while (true) {
    std::size_t end = s.find(sep, start);
    out.push_back(s.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    if (end == std::string_view::npos) return out;
    start = end + 1;
  }
}

std::string join(const std::vector<std::string>& parts, std::size_t from, std::size_t to) {
  std::string out;
  for (std::size_t i = from; i < to; ++i) {
    if (i > from) out += '/';
    out += parts[i];
  }
  return out;
}

std::string join_raw(const std::vector<std::string_view>& parts, std::size_t from, std::size_t to) {
  std::string out;
  for (std::size_t i = from; i < to; ++i) {
    out += '/';
    out += parts[i];
  }
  return out;
}

bool is_api_action(std::string_view s) {
  return s == "revision" || s == "tree" || s == "refs" || s == "paths-info";
}

// How many segments the revision takes at `i`: a raw (unencoded) "refs/pr/N"
// spans three, everything else one.
std::size_t revision_length(const std::vector<std::string>& segs, std::size_t i) {
  if (i + 2 < segs.size() && segs[i] == "refs" && (segs[i + 1] == "pr" || segs[i + 1] == "convert")) return 3;
  return 1;
}

}  // namespace

Route parse_route(std::string_view target) {
  Route r;
  std::string_view raw_path = target.substr(0, target.find('?'));
  std::string_view raw_query = target.size() > raw_path.size() ? target.substr(raw_path.size()) : "";
  if (raw_path.empty() || raw_path.front() != '/') return r;
  std::vector<std::string_view> raw = split(raw_path.substr(1), '/');
  std::vector<std::string> segs;
  for (std::string_view s : raw) {
    std::string d;
    if (!util_internal::percent_decode(s, d)) {
      r.kind = Route::Kind::bad_path;
      return r;
    }
    segs.push_back(std::move(d));
  }
  // A repo id with ".." is refused as soon as it is taken, whatever follows it:
  // a route that returns early must not carry one (found by serve_request_fuzz).
  auto take_repo = [&](std::size_t at, std::size_t len) {
    r.repo_id = join(segs, at, at + len);
    r.raw_prefix = join_raw(raw, 0, at) + "/";
    r.raw_suffix = join_raw(raw, at + len, raw.size()) + std::string(raw_query);
    if (r.repo_id.find("..") == std::string::npos) return true;
    r.kind = Route::Kind::bad_path;
    return false;
  };
  // Decoded segments may themselves contain '/' ("sub%2Fdir"); the joined path is checked whole.
  auto take_path = [&](std::size_t from) {
    r.path = join(segs, from, segs.size());
    if (!r.path.empty() && !validate_repo_file_path(r.path)) r.kind = Route::Kind::bad_path;
  };

  if (segs.size() == 2 && segs[0] == "_hubload" && segs[1] == "stats") {
    r.kind = Route::Kind::stats;
    return r;
  }
  if (segs.size() >= 3 && segs[0] == "api") {
    if (segs[1] == "models") r.type = RepoType::model;
    else if (segs[1] == "datasets") r.type = RepoType::dataset;
    else if (segs[1] == "spaces") r.type = RepoType::space;
    else return r;
    std::size_t id_len = (segs.size() >= 4 && !is_api_action(segs[3])) ? 2 : 1;
    if (!take_repo(2, id_len)) return r;
    std::size_t i = 2 + id_len;
    if (i == segs.size()) {
      r.kind = Route::Kind::repo_info;
    } else if (segs[i] == "revision" && i + 1 < segs.size()) {
      r.kind = Route::Kind::repo_info;
      r.revision = join(segs, i + 1, segs.size());
    } else if (segs[i] == "tree" && i + 1 < segs.size()) {
      r.kind = Route::Kind::tree;
      std::size_t n = revision_length(segs, i + 1);
      r.revision = join(segs, i + 1, i + 1 + n);
      take_path(i + 1 + n);
    } else if (segs[i] == "refs" && i + 1 == segs.size()) {
      r.kind = Route::Kind::refs;
    } else if (segs[i] == "paths-info" && i + 1 < segs.size()) {
      r.kind = Route::Kind::paths_info;
      r.revision = join(segs, i + 1, segs.size());
    }
    return r;
  }
  std::size_t base = 0;
  if (!segs.empty() && (segs[0] == "datasets" || segs[0] == "spaces")) {
    r.type = segs[0] == "datasets" ? RepoType::dataset : RepoType::space;
    base = 1;
  }
  std::size_t id_len = 0;
  if (segs.size() > base + 2 && segs[base + 2] == "resolve") id_len = 2;
  else if (segs.size() > base + 1 && segs[base + 1] == "resolve") id_len = 1;
  else return r;
  if (!take_repo(base, id_len)) return r;
  std::size_t i = base + id_len + 1;
  if (i >= segs.size()) return r;
  std::size_t n = revision_length(segs, i);
  r.revision = join(segs, i, i + n);
  r.kind = Route::Kind::resolve;
  take_path(i + n);
  if (r.path.empty()) r.kind = Route::Kind::bad_path;
  return r;
}

}  // namespace hubload::serve_internal
