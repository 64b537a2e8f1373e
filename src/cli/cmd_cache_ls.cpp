// `hubload cache ls`: a table (or JSON) of repos or revisions, totals and warnings.
#include <fmt/format.h>

#include <chrono>
#include <iostream>

#include "cli/cmd_cache.h"

namespace hubload::cli {
namespace {

std::string ago(std::int64_t when, std::int64_t now) {
  const std::int64_t s = std::max<std::int64_t>(0, now - when);
  if (s < 120) return fmt::format("{} s ago", s);
  if (s < 7200) return fmt::format("{} min ago", s / 60);
  if (s < 2 * 86400) return fmt::format("{} h ago", s / 3600);
  return fmt::format("{} days ago", s / 86400);
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ", ") + i;
  return out;
}

std::vector<std::string> ref_names(const CachedRepo& repo) {
  std::vector<std::string> names;
  for (const auto& [ref, commit] : repo.refs) names.push_back(ref);
  return names;
}

nlohmann::json repo_json(const CachedRepo& r, bool revisions) {
  nlohmann::json doc = {{"id", r.id},
                        {"type", std::string(to_string(r.type))},
                        {"path", r.dir.string()},
                        {"size", r.size},
                        {"files", r.files},
                        {"last_accessed", r.last_accessed},
                        {"last_modified", r.last_modified},
                        {"refs", r.refs},
                        {"orphan_blobs", r.orphan_blobs.size()},
                        {"partials", r.partials.size()},
                        {"reclaimable", r.reclaimable}};
  if (revisions) {
    doc["revisions"] = nlohmann::json::array();
    for (const CachedRevision& rev : r.revisions) {
      doc["revisions"].push_back({{"commit", rev.commit},
                                  {"refs", rev.refs},
                                  {"size", rev.size},
                                  {"files", rev.files.size()},
                                  {"last_modified", rev.last_modified},
                                  {"snapshot", rev.snapshot.string()}});
    }
  }
  return doc;
}

void print_table(const std::vector<const CachedRepo*>& repos, const CacheScan& scan, bool revisions,
                 std::int64_t now) {
  if (revisions) {
    fmt::print("{:<40} {:<40} {:>10} {:>6} {:<14} {}\n", "REPO", "REVISION", "SIZE", "FILES", "MODIFIED", "REFS");
    for (const CachedRepo* r : repos) {
      for (const CachedRevision& rev : r->revisions) {
        fmt::print("{:<40} {:<40} {:>10} {:>6} {:<14} {}\n", r->display_id(), rev.commit, format_bytes(rev.size),
                   rev.files.size(), ago(rev.last_modified, now), rev.detached() ? "(detached)" : join(rev.refs));
      }
    }
  } else {
    fmt::print("{:<40} {:>10} {:>6} {:<14} {:<14} {}\n", "REPO", "SIZE", "FILES", "ACCESSED", "MODIFIED", "REFS");
    for (const CachedRepo* r : repos) {
      fmt::print("{:<40} {:>10} {:>6} {:<14} {:<14} {}\n", r->display_id(), format_bytes(r->size), r->files,
                 ago(r->last_accessed, now), ago(r->last_modified, now), join(ref_names(*r)));
    }
  }
  fmt::print("\n{} repos, {} on disk; {} reclaimable by `hubload cache prune`\n", scan.repos.size(),
             format_bytes(scan.size), format_bytes(scan.reclaimable));
}

}  // namespace

Result<int> run_cache_ls(const CacheArgs& args) {
  std::vector<RepoFilter> filters;
  for (const std::string& f : args.filters) {
    HUBLOAD_ASSIGN_OR_RETURN(RepoFilter parsed, parse_repo_filter(f));
    filters.push_back(parsed);
  }
  HUBLOAD_ASSIGN_OR_RETURN(RepoSort sort, parse_repo_sort(args.sort));
  HUBLOAD_ASSIGN_OR_RETURN(CacheScan scan, scan_cache(cache_root(args)));

  const std::int64_t now =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  std::vector<const CachedRepo*> shown;
  for (const CachedRepo& r : scan.repos) {
    bool keep = true;
    for (const RepoFilter& f : filters) keep = keep && repo_matches(r, f, now);
    if (keep) shown.push_back(&r);
  }
  sort_repos(shown, sort);
  if (args.limit > 0 && shown.size() > static_cast<std::size_t>(args.limit)) shown.resize(args.limit);

  if (args.json) {
    nlohmann::json doc = {{"cache_dir", scan.root.string()},
                          {"repos", nlohmann::json::array()},
                          {"totals", {{"repos", scan.repos.size()}, {"size", scan.size}, {"reclaimable", scan.reclaimable}}},
                          {"warnings", scan.warnings}};
    for (const CachedRepo* r : shown) doc["repos"].push_back(repo_json(*r, args.revisions));
    print_json(doc);
  } else {
    print_table(shown, scan, args.revisions, now);
  }
  print_warnings(scan.warnings);
  return 0;
}

}  // namespace hubload::cli
