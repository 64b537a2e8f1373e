// `hubload cache verify`: every mismatch with both hashes, throughput, and an
// exit code that says whether all is well (7 integrity, 5 unreadable blobs).
#include <fmt/format.h>

#include <iostream>

#include "cli/cmd_cache.h"

namespace hubload::cli {
namespace {

nlohmann::json problem_json(const BlobProblem& p) {
  nlohmann::json doc = {{"repo", p.repo},           {"blob", p.blob.string()}, {"files", p.files},
                        {"expected", p.expected},   {"actual", p.actual},      {"algorithm", p.algorithm}};
  if (p.error) doc["error"] = p.error->to_string();
  if (p.quarantined_to) doc["quarantined_to"] = p.quarantined_to->string();
  return doc;
}

void print_text(const VerifyReport& r, const std::vector<OnlineDifference>& online) {
  for (const BlobProblem& p : r.mismatches) {
    fmt::print("MISMATCH {} {}\n  expected {} {}\n  actual   {} {}\n", p.repo, p.blob.string(), p.algorithm,
               p.expected, p.algorithm, p.actual);
    for (const auto& f : p.files) fmt::print("  linked from {}\n", f);
    if (p.quarantined_to) fmt::print("  moved to {} (the next download fetches it again)\n", p.quarantined_to->string());
  }
  for (const BlobProblem& p : r.unreadable) {
    fmt::print("UNREADABLE {} {}\n  {}\n", p.repo, p.blob.string(), p.error ? p.error->to_string() : "");
  }
  for (const std::string& m : r.missing) fmt::print("MISSING BLOB {}\n", m);
  for (const OnlineDifference& d : online) {
    if (d.error) fmt::print("NOT COMPARED {}@{}: {}\n", d.repo, d.commit, d.error->to_string());
    for (const auto& m : d.missing) fmt::print("MISSING {}@{} {} (on the Hub, not cached)\n", d.repo, d.commit, m);
    for (const auto& e : d.extra) fmt::print("EXTRA {}@{} {} (cached, not on the Hub)\n", d.repo, d.commit, e);
    for (const auto& c : d.changed) {
      fmt::print("CHANGED {}@{} {}\n  cached {}\n  hub    {}\n", d.repo, d.commit, c.path, c.cached, c.hub);
    }
  }
  fmt::print("{} blobs ({} files, {}) hashed in {:.2f} s: {}/s; {} mismatched, {} unreadable\n", r.blobs, r.files,
             format_bytes(r.bytes), r.seconds, format_bytes(static_cast<std::uint64_t>(r.bytes_per_second())),
             r.mismatches.size(), r.unreadable.size());
}

std::optional<Error> verdict(const VerifyReport& r, const std::vector<OnlineDifference>& online, const CacheArgs& a) {
  if (!r.mismatches.empty()) {
    return integrity_error(fmt::format("{} blob(s) do not match their names (first: {})", r.mismatches.size(),
                                       r.mismatches.front().blob.string()));
  }
  if (!r.unreadable.empty()) {
    return io_error(fmt::format("{} blob(s) could not be read (first: {})", r.unreadable.size(),
                                r.unreadable.front().blob.string()));
  }
  if (!r.missing.empty()) {
    return not_found(fmt::format("{} file(s) link to a missing blob (first: {}); download again to restore",
                                 r.missing.size(), r.missing.front()));
  }
  for (const OnlineDifference& d : online) {
    if (d.error) return Error(d.error->kind(), fmt::format("{}@{}: {}", d.repo, d.commit, d.error->message()));
  }
  for (const OnlineDifference& d : online) {
    if (!d.ok(a.fail_on_missing, a.fail_on_extra)) {
      return integrity_error(fmt::format("{}@{} differs from the Hub's listing", d.repo, d.commit));
    }
  }
  return std::nullopt;
}

}  // namespace

Result<int> run_cache_verify(const CacheArgs& args) {
  HUBLOAD_ASSIGN_OR_RETURN(CacheScan scan, scan_cache(cache_root(args)));
  VerifyOptions options;
  if (!args.repo.empty()) options.repo = args.repo;
  if (!args.revision.empty()) options.revision = args.revision;
  options.threads = args.threads;
  options.fix = args.fix;
  HUBLOAD_ASSIGN_OR_RETURN(VerifyReport report, verify_cache(scan, options));
  std::vector<OnlineDifference> online;
  if (args.online) {
    HUBLOAD_ASSIGN_OR_RETURN(online, verify_online(scan, options, hub_options(args.hub)));
  }
  std::vector<std::string> warnings = scan.warnings;
  warnings.insert(warnings.end(), report.warnings.begin(), report.warnings.end());
  const std::optional<Error> failure = verdict(report, online, args);
  if (args.json) {
    nlohmann::json doc = {{"cache_dir", scan.root.string()},
                          {"blobs", report.blobs},
                          {"files", report.files},
                          {"bytes", report.bytes},
                          {"seconds", report.seconds},
                          {"bytes_per_second", report.bytes_per_second()},
                          {"mismatches", nlohmann::json::array()},
                          {"unreadable", nlohmann::json::array()},
                          {"missing", report.missing},
                          {"warnings", warnings},
                          {"ok", !failure}};
    for (const auto& p : report.mismatches) doc["mismatches"].push_back(problem_json(p));
    for (const auto& p : report.unreadable) doc["unreadable"].push_back(problem_json(p));
    if (args.online) {
      doc["online"] = nlohmann::json::array();
      for (const auto& d : online) {
        nlohmann::json changed = nlohmann::json::array();
        for (const auto& c : d.changed) changed.push_back({{"path", c.path}, {"cached", c.cached}, {"hub", c.hub}});
        doc["online"].push_back({{"repo", d.repo},
                                 {"commit", d.commit},
                                 {"missing", d.missing},
                                 {"extra", d.extra},
                                 {"changed", changed},
                                 {"error", d.error ? d.error->to_string() : ""}});
      }
    }
    if (failure) doc["error"] = {{"kind", std::string(to_string(failure->kind()))}, {"message", failure->message()}};
    print_json(doc);
  } else {
    print_text(report, online);
  }
  print_warnings(warnings);
  if (!failure) return 0;
  std::cerr << "hubload: " << failure->to_string() << "\n";
  return exit_code(failure->kind());
}

}  // namespace hubload::cli
