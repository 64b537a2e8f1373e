#include "hub/fetch_listed.h"

#include <algorithm>
#include <set>

#include "hub/download_file.h"
#include "util/digest.h"

namespace hubload::hub_internal {

std::optional<FileMetadata> listed_metadata(const HubContext& ctx, const std::string& commit,
                                            const RepoFileInfo& file) {
  if (!file.size) return std::nullopt;
  std::string etag = file.lfs_sha256 ? *file.lfs_sha256 : file.blob_id;
  if (!util_internal::is_hash_etag(etag)) return std::nullopt;
  return FileMetadata{commit, std::move(etag), *file.size, resolve_url(ctx, commit, file.path)};
}

Status fetch_listed(const HubContext& ctx, const std::vector<ListedFile>& files, int max_files) {
  if (files.empty()) return ok();
  HUBLOAD_TRY(ctx.cache.prepare());
  std::vector<const ListedFile*> unlinked;
  std::vector<TransferFile> transfers;
  std::set<std::string> etags;
  for (const ListedFile& f : files) {
    HUBLOAD_ASSIGN_OR_RETURN(bool linked, link_if_published(ctx, f.meta, f.path));
    if (linked) continue;
    unlinked.push_back(&f);
    // The same content under two names is fetched once and linked twice.
    if (!etags.insert(f.meta.etag).second) continue;
    // The engine takes each blob's .locks file itself (LockMode::own), one file
    // at a time, as it starts it.
    transfers.push_back(blob_transfer(ctx, f.meta, f.path));
  }
  if (!transfers.empty()) {
    TransferOptions options = blob_transfer_options(ctx);
    options.max_open_files = std::max(1, max_files);
    std::vector<FileProgress> progress;
    for (const TransferFile& t : transfers) progress.push_back(FileProgress{t.display_name, 0, t.size, 0, {}, 0});
    const HubOptions& hub = *ctx.options;
    if (hub.on_progress || hub.cancel) {
      options.on_event = [&hub, &progress](const TransferEvent& e) {
        return report_transfer_event(hub, progress[e.file_index], e);
      };
    }
    HUBLOAD_ASSIGN_OR_RETURN(TransferStats stats, download_files(transfers, options));
    (void)stats;
  }
  for (const ListedFile* f : unlinked) {
    HUBLOAD_ASSIGN_OR_RETURN(bool linked, link_if_published(ctx, f->meta, f->path));
    // Deleted between publish and link (a `cache rm` meanwhile): the one-file way.
    if (!linked) HUBLOAD_TRY(download_file(ctx, f->meta.commit, f->path));
  }
  return ok();
}

}  // namespace hubload::hub_internal
