// download_model: MODEL (folder or repo id) → a snapshot folder holding the
// model's files, fetched in parallel, or resolved from the cache alone when
// offline or when the Hub is unreachable.
#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "hub/download_file.h"
#include "hub/fetch_listed.h"
#include "hub/model_files.h"
#include "hub/repo_listing.h"

namespace hubload::hub_internal {
namespace fs = std::filesystem;
namespace {

Result<std::vector<std::string>> read_index_file(const fs::path& file, std::string_view name) {
  HUBLOAD_ASSIGN_OR_RETURN(std::string text, read_text_file(file.string()));
  return weight_map_files(text, name);
}

// The snapshot for options.hub.revision from the cache alone, checked complete
// for this request; `failure` is the network error that brought us here, if any.
Result<DownloadResult> cached_snapshot(const HubContext& ctx, const DownloadOptions& options,
                                       std::optional<Error> failure) {
  const std::string& revision = options.hub.revision;
  HUBLOAD_ASSIGN_OR_RETURN(std::optional<std::string> commit, ctx.cache.resolve_commit(revision));
  if (!commit) {
    return Error(ErrorKind::offline, fmt::format("{} at revision '{}' is not in the cache: {} does not exist",
                                                 ctx.cache.repo_id(), revision,
                                                 ctx.cache.ref_path(revision).string()));
  }
  const fs::path snapshot = ctx.cache.snapshot_dir(*commit);
  std::error_code ec;
  if (!fs::is_directory(snapshot, ec)) {
    return Error(ErrorKind::offline, fmt::format("{} at revision '{}' is not in the cache: {} does not exist",
                                                 ctx.cache.repo_id(), revision, snapshot.string()));
  }
  const std::vector<std::string> available = list_snapshot(snapshot);
  auto read_index = [&](const std::string& index) { return read_index_file(snapshot / index, index); };
  HUBLOAD_ASSIGN_OR_RETURN(std::vector<std::string> files,
                           select_model_files(available, options, read_index, false));
  std::vector<std::string> missing;
  const bool model_mode = options.allow_patterns.empty();
  if (model_mode && std::find(files.begin(), files.end(), "config.json") == files.end() &&
      !ctx.cache.known_missing(*commit, "config.json")) {
    missing.push_back("config.json");
  }
  for (const auto& file : files) {
    if (!fs::exists(snapshot / file, ec)) missing.push_back(file);
  }
  if (!missing.empty()) {
    std::string names;
    for (const auto& m : missing) names += (names.empty() ? "" : ", ") + m;
    return Error(ErrorKind::offline, fmt::format("the cached snapshot {} of {} is incomplete: missing {}",
                                                 snapshot.string(), ctx.cache.repo_id(), names));
  }
  DownloadResult result;
  result.snapshot = snapshot;
  result.commit = *commit;
  result.files = std::move(files);
  result.from_cache = true;
  result.network_failure = std::move(failure);
  return result;
}

bool has_weights(const std::vector<std::string>& files) {
  return std::any_of(files.begin(), files.end(), [](const std::string& f) {
    return f.ends_with(".safetensors") || f.ends_with(".bin");
  });
}

// Downloads `files` at `commit`; the first error wins. Files whose size and
// hash the listing gave go through one engine call on this thread, up to
// max_workers of them at once; the others (a HEAD each) on up to max_workers
// threads meanwhile, sharing the budget.
Status download_all(const HubContext& ctx, const std::string& commit, const std::vector<std::string>& files,
                    const std::vector<RepoFileInfo>& listing, int max_workers) {
  std::map<std::string_view, const RepoFileInfo*> listed_by_path;
  for (const auto& f : listing) listed_by_path.emplace(f.path, &f);
  std::vector<ListedFile> listed;
  std::vector<std::string> others;
  std::error_code ec;
  for (const auto& path : files) {
    if (fs::exists(ctx.cache.snapshot_path(commit, path), ec)) continue;
    auto it = listed_by_path.find(path);
    std::optional<FileMetadata> meta = it == listed_by_path.end() ? std::nullopt : listed_metadata(ctx, commit, *it->second);
    if (meta) listed.push_back(ListedFile{path, std::move(*meta)});
    else others.push_back(path);
  }
  std::atomic<std::size_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex mu;
  std::optional<Error> first_error;
  auto note = [&](Error error) {
    std::lock_guard lock(mu);
    if (!first_error) first_error = std::move(error);
    failed = true;
  };
  auto worker = [&] {
    for (std::size_t i = next++; i < others.size() && !failed; i = next++) {
      Result<FileOutcome> outcome = download_file(ctx, commit, others[i]);
      if (!outcome) note(std::move(outcome).error());
    }
  };
  const auto count = static_cast<std::size_t>(std::clamp(max_workers, 1, 64));
  std::vector<std::jthread> threads;
  for (std::size_t t = 0; t < std::min(count, others.size()); ++t) threads.emplace_back(worker);
  if (Status s = fetch_listed(ctx, listed, max_workers); !s) note(std::move(s).error());
  threads.clear();  // joins
  if (first_error) return std::move(*first_error);
  return ok();
}

}  // namespace

// MODEL was not an existing folder: it must be a repo id, and the error says
// that both readings were tried.
Status check_model_repo_id(std::string_view model) {
  Status valid = validate_repo_id(model);
  if (!valid) {
    return invalid_input(fmt::format("'{}' is neither an existing local folder nor a valid Hub repo id ({})", model,
                                     valid.error().message()));
  }
  return ok();
}

namespace {

Result<DownloadResult> download_repo(const HubContext& ctx, const DownloadOptions& options) {
  const std::string& revision = options.hub.revision;
  if (ctx.offline) return cached_snapshot(ctx, options, std::nullopt);
  if (is_commit_hash(revision) && options.allow_patterns.empty()) {
    // A commit never changes: a snapshot that is complete for this request is
    // answered without a single request (in pattern mode completeness cannot be
    // judged without the listing, so the Hub is asked).
    Result<DownloadResult> cached = cached_snapshot(ctx, options, std::nullopt);
    if (cached && (options.skip_download_weights || has_weights(cached->files))) return cached;
  }
  Result<RepoInfo> info = repo_info(ctx, revision);
  if (!info) {
    Error error = std::move(info).error();
    if (!may_fall_back_to_cache(error)) return error;
    Result<DownloadResult> cached = cached_snapshot(ctx, options, error);
    if (cached) {
      if (options.hub.on_warning) {
        options.hub.on_warning(fmt::format("the Hub could not be reached ({}); using the cached snapshot {}",
                                           error.to_string(), cached->snapshot.string()));
      }
      return cached;
    }
    return std::move(error).with_context(fmt::format("and no usable cached copy ({})", cached.error().message()));
  }
  const std::string commit = info->sha;
  HUBLOAD_TRY(ctx.cache.prepare());
  // The ref goes first, so that a prune running meanwhile sees the snapshot
  // being filled as referenced. If the download fails before anything is linked
  // under the commit (e.g. a resolve answer names another commit: head_file
  // refuses it), the ref is put back: it never points at a snapshot that is not there.
  HUBLOAD_ASSIGN_OR_RETURN(std::optional<std::string> previous_ref, ctx.cache.read_ref(revision));
  HUBLOAD_TRY(ctx.cache.write_ref(revision, commit));
  std::vector<std::string> available;
  for (const auto& file : info->files) available.push_back(file.path);
  auto read_index = [&](const std::string& index) -> Result<std::vector<std::string>> {
    HUBLOAD_ASSIGN_OR_RETURN(FileOutcome outcome, download_file(ctx, commit, index));
    return read_index_file(outcome.path, index);
  };
  Result<std::vector<std::string>> files = select_model_files(available, options, read_index, true);
  Status fetched = files ? download_all(ctx, commit, *files, info->files, options.max_workers) : Status(files.error());
  if (!fetched) {
    std::error_code ec;
    if (!is_commit_hash(revision) && !fs::exists(ctx.cache.snapshot_dir(commit), ec)) {
      if (previous_ref) (void)ctx.cache.write_ref(revision, *previous_ref);
      else fs::remove(ctx.cache.ref_path(revision), ec);
    }
    return std::move(fetched).error();
  }
  DownloadResult result;
  result.snapshot = ctx.cache.snapshot_dir(commit);
  result.commit = commit;
  result.files = std::move(*files);
  result.connections = ctx.connection_budget->slots();
  return result;
}

}  // namespace
}  // namespace hubload::hub_internal

namespace hubload {

Result<DownloadResult> download_model(std::string_view model, const DownloadOptions& options) {
  std::error_code ec;
  const std::filesystem::path folder(model);
  if (!model.empty() && std::filesystem::is_directory(folder, ec)) {
    DownloadResult result;
    result.snapshot = folder;
    result.files = hub_internal::list_snapshot(folder);
    result.local_folder = true;
    return result;
  }
  HUBLOAD_TRY(hub_internal::check_model_repo_id(model));
  HUBLOAD_ASSIGN_OR_RETURN(hub_internal::HubContext ctx, hub_internal::make_context(model, options.hub));
  return hub_internal::download_repo(ctx, options);
}

Result<std::filesystem::path> resolve_model_path(std::string_view model, const HubOptions& options) {
  std::error_code ec;
  const std::filesystem::path folder(model);
  if (!model.empty() && std::filesystem::is_directory(folder, ec)) return folder;
  HUBLOAD_TRY(hub_internal::check_model_repo_id(model));
  DownloadOptions offline;
  offline.hub = options;
  offline.hub.local_files_only = true;
  offline.hub.no_token = true;  // no token file read for a cache lookup
  HUBLOAD_ASSIGN_OR_RETURN(hub_internal::HubContext ctx, hub_internal::make_context(model, offline.hub));
  HUBLOAD_ASSIGN_OR_RETURN(DownloadResult result, hub_internal::download_repo(ctx, offline));
  return std::move(result.snapshot);
}

}  // namespace hubload
