#include "cache_manage/select.h"

#include <fmt/format.h>

namespace hubload::cache_manage_internal {

const CachedRepo* find_repo(const CacheScan& scan, std::string_view target) {
  auto find = [&](RepoType type, std::string_view id) -> const CachedRepo* {
    for (const CachedRepo& r : scan.repos) {
      if (r.type == type && r.id == id) return &r;
    }
    return nullptr;
  };
  const auto slash = target.find('/');
  if (slash != std::string_view::npos) {
    // "dataset/glue" is a legacy dataset id with a type prefix, but "model/x"
    // could be the model "model/x": a real repo id wins.
    if (auto type = parse_repo_type(target.substr(0, slash))) {
      const CachedRepo* as_plain = target.find('/', slash + 1) == std::string_view::npos
                                       ? find(RepoType::model, target) : nullptr;
      return as_plain ? as_plain : find(*type, target.substr(slash + 1));
    }
  }
  return find(RepoType::model, target);
}

Result<std::vector<Selected>> select_revisions(const CacheScan& scan, const std::optional<std::string>& repo,
                                               const std::optional<std::string>& revision) {
  std::vector<const CachedRepo*> repos;
  if (repo) {
    const CachedRepo* r = find_repo(scan, *repo);
    if (!r) return not_found(fmt::format("repo '{}' is not in the cache {}", *repo, scan.root.string()));
    repos.push_back(r);
  } else {
    for (const CachedRepo& r : scan.repos) repos.push_back(&r);
  }
  std::vector<Selected> out;
  for (const CachedRepo* r : repos) {
    for (const CachedRevision& rev : r->revisions) {
      if (!revision) {
        out.push_back({r, &rev});
        continue;
      }
      auto ref = r->refs.find(*revision);
      if (rev.commit == *revision || (ref != r->refs.end() && ref->second == rev.commit)) out.push_back({r, &rev});
    }
  }
  if (revision && out.empty()) {
    return not_found(fmt::format("revision '{}' is not in the cache {}{}", *revision, scan.root.string(),
                                 repo ? " for " + *repo : ""));
  }
  return out;
}

}  // namespace hubload::cache_manage_internal
