#include "hub/download_file.h"

#include <fmt/format.h>

#include "hub/file_metadata.h"
#include "hubload/transfer.h"

namespace hubload::hub_internal {
namespace fs = std::filesystem;
namespace {

bool file_exists(const fs::path& path) {
  std::error_code ec;
  return fs::exists(path, ec);  // follows the symlink: a dangling link is not a cached file
}

// The blob's bytes through the transfer engine: parallel ranges, resume from a
// journaled partial, hash while the bytes arrive, publish blobs/<etag> by
// rename. The caller holds the Hub's blob lock (.locks/<repo>/<etag>.lock), so
// the engine takes none of its own.
Status fetch_blob(const HubContext& ctx, const FileMetadata& meta, std::string_view path) {
  const HubOptions& options = *ctx.options;
  TransferFile file = blob_transfer(ctx, meta, path);
  file.lock = LockMode::external;
  TransferOptions transfer = blob_transfer_options(ctx);
  FileProgress progress{file.display_name, 0, meta.size, 0, {}, 0};
  if (options.on_progress || options.cancel) {
    transfer.on_event = [&options, &progress](const TransferEvent& e) {
      return report_transfer_event(options, progress, e);
    };
  }
  HUBLOAD_ASSIGN_OR_RETURN(TransferStats stats, download_files(std::span(&file, 1), transfer));
  (void)stats;
  return ok();
}

// Lock, check, fetch, publish, link. Several processes may race here; the lock
// de-duplicates, the unique temp file and rename keep it correct. The link is
// made under the lock too: `hubload cache rm` deletes a blob only while holding
// its lock, so it can never remove the blob between our check and our link.
Status materialize(const HubContext& ctx, const FileMetadata& meta, std::string_view path) {
  HUBLOAD_TRY(ctx.cache.prepare());
  const fs::path blob = ctx.cache.blob_path(meta.etag);
  HUBLOAD_ASSIGN_OR_RETURN(BlobLock lock, BlobLock::acquire(ctx.cache.lock_path(meta.etag)));
  if (!file_exists(blob)) HUBLOAD_TRY(fetch_blob(ctx, meta, path));
  return ctx.cache.link_snapshot(meta.commit, path, meta.etag);
}

}  // namespace

TransferFile blob_transfer(const HubContext& ctx, const FileMetadata& meta, std::string_view path) {
  TransferFile file;
  file.url = meta.location;
  file.dest = ctx.cache.blob_path(meta.etag).string();
  file.size = meta.size;
  file.expected_hash = meta.etag;
  file.lock_path = ctx.cache.lock_path(meta.etag);
  file.headers = request_headers(ctx, meta.location);
  file.display_name = std::string(path);
  return file;
}

TransferOptions blob_transfer_options(const HubContext& ctx) {
  TransferOptions transfer = ctx.options->transfer;
  transfer.transport = ctx.transport;
  transfer.budget = ctx.connection_budget;
  transfer.user_agent = std::string(kUserAgent);
  transfer.on_event = nullptr;
  return transfer;
}

bool report_transfer_event(const HubOptions& options, FileProgress& progress, const TransferEvent& e) {
  progress.bytes_done = e.file_bytes;
  progress.bytes_total = e.file_size;
  progress.connections = e.connection_limit;
  if (e.kind == TransferEventKind::retry) {
    ++progress.retries;
    progress.last_retry = e.message;
  }
  if (options.on_progress) options.on_progress(progress);
  return options.cancel == nullptr || !options.cancel->load();
}

Result<bool> link_if_published(const HubContext& ctx, const FileMetadata& meta, std::string_view path) {
  HUBLOAD_ASSIGN_OR_RETURN(BlobLock lock, BlobLock::acquire(ctx.cache.lock_path(meta.etag)));
  if (!file_exists(ctx.cache.blob_path(meta.etag))) return false;
  HUBLOAD_TRY(ctx.cache.link_snapshot(meta.commit, path, meta.etag));
  return true;
}

bool may_fall_back_to_cache(const Error& error) {
  return error.kind() == ErrorKind::network || error.kind() == ErrorKind::rate_limited;
}

Result<fs::path> cached_file(const HubContext& ctx, std::string_view revision, std::string_view path) {
  HUBLOAD_TRY(validate_repo_file_path(path));
  HUBLOAD_ASSIGN_OR_RETURN(std::optional<std::string> commit, ctx.cache.resolve_commit(revision));
  if (!commit) {
    return Error(ErrorKind::offline,
                 fmt::format("{} is not in the cache: no ref '{}' for {} under {}", path, revision,
                             ctx.cache.repo_id(), ctx.cache.repo_dir().string()));
  }
  const fs::path file = ctx.cache.snapshot_path(*commit, path);
  if (!file_exists(file)) {
    const bool missing = ctx.cache.known_missing(*commit, path);
    return Error(ErrorKind::offline,
                 fmt::format("{} is not in the cache: {} does not exist{}", path, file.string(),
                             missing ? " (the Hub said this file does not exist at that commit)" : ""));
  }
  return file;
}

Result<FileOutcome> download_file(const HubContext& ctx, std::string_view revision, std::string_view path) {
  HUBLOAD_TRY(validate_repo_file_path(path));
  if (ctx.offline || (is_commit_hash(revision) && file_exists(ctx.cache.snapshot_path(revision, path)))) {
    HUBLOAD_ASSIGN_OR_RETURN(fs::path cached, cached_file(ctx, revision, path));
    return FileOutcome{std::move(cached), std::nullopt};
  }
  HeadOutcome head = head_file(ctx, revision, path);
  if (!head.metadata) {
    Error error = std::move(head.metadata).error();
    if (head.missing_at_commit && is_commit_hash(*head.missing_at_commit)) {
      HUBLOAD_TRY(ctx.cache.prepare());
      HUBLOAD_TRY(ctx.cache.write_ref(revision, *head.missing_at_commit));
      HUBLOAD_TRY(ctx.cache.mark_missing(*head.missing_at_commit, path));
    }
    if (may_fall_back_to_cache(error)) {
      Result<fs::path> cached = cached_file(ctx, revision, path);
      if (cached) return FileOutcome{std::move(*cached), std::move(error)};
    }
    return error;
  }
  const FileMetadata& meta = *head.metadata;
  HUBLOAD_TRY(ctx.cache.prepare());
  HUBLOAD_TRY(ctx.cache.write_ref(revision, meta.commit));
  const fs::path target = ctx.cache.snapshot_path(meta.commit, path);
  if (!file_exists(target)) {
    Status status = materialize(ctx, meta, path);
    if (!status) return std::move(status).error().with_context(fmt::format("downloading {}", path));
  }
  return FileOutcome{target, std::nullopt};
}

}  // namespace hubload::hub_internal

namespace hubload {

Result<std::filesystem::path> hub_download(std::string_view repo_id, std::string_view filename,
                                           const HubOptions& options) {
  HUBLOAD_ASSIGN_OR_RETURN(hub_internal::HubContext ctx, hub_internal::make_context(repo_id, options));
  HUBLOAD_ASSIGN_OR_RETURN(hub_internal::FileOutcome outcome,
                           hub_internal::download_file(ctx, options.revision, filename));
  if (outcome.network_failure && options.on_warning) {
    options.on_warning(fmt::format("the Hub could not be reached ({}); using the cached {}",
                                   outcome.network_failure->to_string(), outcome.path.string()));
  }
  return std::move(outcome.path);
}

}  // namespace hubload
