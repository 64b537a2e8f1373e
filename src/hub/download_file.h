// One repo file into the cache (hf_hub_download's algorithm, hub-protocol.md §3).
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "hub/file_metadata.h"
#include "hub/hub_context.h"
#include "hubload/transfer.h"

namespace hubload::hub_internal {

struct FileOutcome {
  std::filesystem::path path;
  // Set when the Hub failed (network, 5xx, 429) and the cached file was used.
  std::optional<Error> network_failure;
};

// `revision` may be a branch, tag, PR ref or commit. Writes refs/<revision>
// (not for a commit) and .no_exist on EntryNotFound. Never touches the network
// when the revision is a commit already in the snapshot, or when ctx.offline.
Result<FileOutcome> download_file(const HubContext& ctx, std::string_view revision, std::string_view path);

// Whether an error is the kind that may be answered from the cache instead
// (the Hub is unreachable or refusing service), never "does not exist".
bool may_fall_back_to_cache(const Error& error);

// The cached snapshot file for (revision, path) or an `offline` error naming
// what is missing.
Result<std::filesystem::path> cached_file(const HubContext& ctx, std::string_view revision, std::string_view path);

// The engine's view of one blob: the bytes at meta.location into
// blobs/<etag>, checked against the etag, locked by the Hub's .locks file.
TransferFile blob_transfer(const HubContext& ctx, const FileMetadata& meta, std::string_view path);
// The call's transfer options with the context's transport and shared budget.
TransferOptions blob_transfer_options(const HubContext& ctx);
// A file's progress brought up to date by one of its transfer events and
// reported to options.on_progress; false once options.cancel is set (the
// engine then stops the call, keeping partials for resume).
bool report_transfer_event(const HubOptions& options, FileProgress& progress, const TransferEvent& e);
// Under the blob's lock: links snapshots/<commit>/<path> to the blob if it is
// published; false if it is not (never fetched, or deleted meanwhile).
Result<bool> link_if_published(const HubContext& ctx, const FileMetadata& meta, std::string_view path);

}  // namespace hubload::hub_internal
