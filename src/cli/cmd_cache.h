// `hubload cache ls|verify|rm|prune`: the subcommands' arguments and runners,
// one file each (cmd_cache_ls.cpp, cmd_cache_verify.cpp, cmd_cache_rm.cpp).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "cli/command.h"
#include "cli/hub_flags.h"
#include "hubload/cache_manage.h"

namespace hubload::cli {

// The cache subcommand the user chose; each has its own runner below.
enum class CacheAction { ls, verify, rm, prune };

struct CacheArgs {
  CacheAction action = CacheAction::ls;
  std::string cache_dir;
  bool json = false;
  // ls
  bool revisions = false;
  std::vector<std::string> filters;
  std::string sort = "name";
  int limit = 0;
  // verify
  std::string repo;
  std::string revision;
  bool online = false;
  bool fail_on_missing = false;
  bool fail_on_extra = false;
  int threads = 0;
  bool fix = false;
  HubFlags hub;
  // rm, prune
  std::vector<std::string> targets;
  bool dry_run = false;
  bool yes = false;
};

// --cache-dir, else the cache `download` uses (HF_HUB_CACHE, HF_HOME, ...).
std::filesystem::path cache_root(const CacheArgs& args);

Result<int> run_cache_ls(const CacheArgs& args);
Result<int> run_cache_verify(const CacheArgs& args);
Result<int> run_cache_rm(const CacheArgs& args);

}  // namespace hubload::cli
