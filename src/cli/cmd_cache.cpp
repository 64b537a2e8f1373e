// `hubload cache`: the subcommands and their options; each runs in its own file.
#include "cli/cmd_cache.h"

namespace hubload::cli {

std::filesystem::path cache_root(const CacheArgs& args) {
  if (!args.cache_dir.empty()) return args.cache_dir;
  return hub_cache_root(read_hub_environment());
}

namespace {

// Declares one of the cache subcommands with the options they all take; the
// callback records which one the user chose, for run_cache().
CLI::App* add_action(CLI::App* cache, CacheArgs& args, CacheAction action, const std::string& name,
                     const std::string& summary) {
  CLI::App* cmd = cache->add_subcommand(name, summary);
  cmd->add_option("--cache-dir", args.cache_dir, "Hub cache folder (default: HF_HUB_CACHE or HF_HOME/hub)");
  cmd->add_flag("--json", args.json, "Print one JSON document");
  cmd->callback([&args, action] { args.action = action; });
  return cmd;
}

void declare_cache(CLI::App* cache, CacheArgs& args) {
  cache->description("List, verify, remove and prune the Hub cache shared with Python's huggingface_hub "
                     "(docs/cache.md).");
  cache->require_subcommand(1);

  CLI::App* ls = add_action(cache, args, CacheAction::ls, "ls",
                            "Repos (or revisions) with sizes, files, times and refs; totals and "
                            "reclaimable bytes; what is inconsistent, as warnings");
  ls->add_flag("--revisions", args.revisions, "One row per revision");
  ls->add_option("--filter", args.filters,
                 "KEY OP VALUE, repeatable: size>1GB, type=model, accessed>7d, modified<30d, refs=main");
  ls->add_option("--sort", args.sort, "accessed, modified, name or size, with :asc or :desc")->capture_default_str();
  ls->add_option("--limit", args.limit, "At most N repos (0: all)")->check(CLI::NonNegativeNumber);

  CLI::App* verify = add_action(
      cache, args, CacheAction::verify, "verify",
      "Hash every blob once against its name (sha256 or git blob sha1), offline and in parallel");
  verify->add_option("repo", args.repo, "org/name, model/org/name, dataset/org/name (default: every repo)");
  verify->add_option("--revision", args.revision, "A ref or commit (default: every cached revision)");
  verify->add_flag("--online", args.online, "Also compare the file list and hashes with the Hub's listing");
  verify->add_flag("--fail-on-missing-files", args.fail_on_missing, "With --online: files on the Hub but not cached fail");
  verify->add_flag("--fail-on-extra-files", args.fail_on_extra, "With --online: cached files not on the Hub fail");
  verify->add_option("--threads", args.threads, "Hashing threads (default: every core)")->check(CLI::NonNegativeNumber);
  verify->add_flag("--fix", args.fix, "Move corrupt blobs to <repo>/.quarantine/ so the next download fetches them");
  verify->add_option("--endpoint", args.hub.endpoint, "Hub URL for --online (default: HF_ENDPOINT)");
  auto* token = verify->add_option("--token", args.hub.token, "Hub token for --online (default: HF_TOKEN)");
  verify->add_flag("--no-token", args.hub.no_token, "Send no token")->excludes(token);

  CLI::App* rm = add_action(cache, args, CacheAction::rm, "rm", "Remove repos or revisions and the blobs only they use");
  rm->add_option("targets", args.targets, "Repo ids (org/name, dataset/org/name) or revision hashes")->required();
  rm->add_flag("--dry-run", args.dry_run, "Show what would go; change nothing");
  rm->add_flag("-y,--yes", args.yes, "Do not ask");

  CLI::App* prune = add_action(
      cache, args, CacheAction::prune, "prune",
      "Remove detached revisions, orphan blobs and stale partial downloads (never a live download's)");
  prune->add_flag("--dry-run", args.dry_run, "Show what would go; change nothing");
  prune->add_flag("-y,--yes", args.yes, "Do not ask");
}

Result<int> run_cache(const CacheArgs& args) {
  switch (args.action) {
    case CacheAction::ls: return run_cache_ls(args);
    case CacheAction::verify: return run_cache_verify(args);
    case CacheAction::rm:
    case CacheAction::prune: return run_cache_rm(args);
  }
  return internal_error("unknown cache subcommand");
}

}  // namespace

Command add_cache_command(CLI::App& app) { return define_command(app, "cache", declare_cache, run_cache); }

}  // namespace hubload::cli
