// `hubload cache rm` and `prune`: the plan first, then a question (unless
// --yes), then the deletion and what it skipped.
#include <fmt/format.h>
#include <unistd.h>

#include <iostream>

#include "cli/cmd_cache.h"

namespace hubload::cli {
namespace {

nlohmann::json plan_json(const DeletePlan& plan) {
  nlohmann::json repos = nlohmann::json::array();
  for (const auto& p : plan.repos) {
    nlohmann::json partials = nlohmann::json::array();
    for (const auto& partial : p.partials) {
      partials.push_back({{"data", partial.data.string()},
                          {"journal", partial.journal ? partial.journal->string() : ""},
                          {"size", partial.size},
                          {"reason", partial.reason}});
    }
    nlohmann::json refs = nlohmann::json::array();
    for (const auto& r : p.refs) refs.push_back(r.lexically_relative(p.dir / "refs").generic_string());
    repos.push_back({{"repo", p.repo},   {"revisions", p.commits}, {"refs", refs},         {"blobs", p.blobs},
                     {"partials", partials}, {"whole_repo", p.whole_repo}, {"freed", p.freed}});
  }
  return {{"repos", repos}, {"freed", plan.freed}};
}

void print_plan(const DeletePlan& plan, bool dry_run) {
  for (const auto& p : plan.repos) {
    fmt::print("{}{}\n", p.repo, p.whole_repo ? " (the whole repo)" : "");
    for (const auto& c : p.commits) fmt::print("  revision {}\n", c);
    for (const auto& r : p.refs) fmt::print("  ref {}\n", r.lexically_relative(p.dir / "refs").generic_string());
    fmt::print("  {} blob(s)\n", p.blobs.size());
    for (const auto& partial : p.partials) fmt::print("  partial {} ({})\n", partial.data.string(), partial.reason);
    fmt::print("  frees {}\n", format_bytes(p.freed));
  }
  fmt::print("{} {} in total\n", dry_run ? "Would free" : "Frees", format_bytes(plan.freed));
}

// True when the user typed y/yes on stdin. Without a terminal there is nobody to ask.
Result<bool> confirm() {
  if (!::isatty(0)) {
    return invalid_input("stdin is not a terminal, so nobody can confirm: pass --yes to delete, or --dry-run to look");
  }
  std::cerr << "Delete these? [y/N] " << std::flush;
  std::string answer;
  std::getline(std::cin, answer);
  return answer == "y" || answer == "Y" || answer == "yes";
}

}  // namespace

Result<int> run_cache_rm(const CacheArgs& args) {
  HUBLOAD_ASSIGN_OR_RETURN(CacheScan scan, scan_cache(cache_root(args)));
  HUBLOAD_ASSIGN_OR_RETURN(DeletePlan plan, args.action == CacheAction::prune
                                                ? Result<DeletePlan>(prune_cache(scan))
                                                : delete_revisions(scan, args.targets));
  print_warnings(scan.warnings);
  if (!args.json) print_plan(plan, args.dry_run);
  if (args.dry_run || plan.empty()) {
    if (args.json) print_json({{"dry_run", args.dry_run}, {"plan", plan_json(plan)}});
    return 0;
  }
  if (!args.yes) {
    HUBLOAD_ASSIGN_OR_RETURN(bool yes, confirm());
    if (!yes) return Error(ErrorKind::cancelled, "nothing deleted");
  }
  const DeleteOutcome out = execute_delete(plan);
  if (args.json) {
    print_json({{"dry_run", false},
                {"plan", plan_json(plan)},
                {"deleted",
                 {{"revisions", out.revisions}, {"blobs", out.blobs}, {"partials", out.partials}, {"freed", out.freed}}},
                {"skipped", out.skipped},
                {"errors", out.errors}});
  } else {
    fmt::print("Deleted {} revision(s), {} blob(s), {} partial(s): {} freed\n", out.revisions, out.blobs,
               out.partials, format_bytes(out.freed));
    for (const auto& s : out.skipped) fmt::print("skipped: {}\n", s);
  }
  if (out.errors.empty()) return 0;
  for (const auto& e : out.errors) std::cerr << "hubload: io: " << e << "\n";
  return exit_code(ErrorKind::io);
}

}  // namespace hubload::cli
