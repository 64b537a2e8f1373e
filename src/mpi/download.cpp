// download_model_distributed: one commit for the job, each blob from the Hub
// once, the rest over MPI between node leaders (mpi.h says the whole story).
#include <algorithm>
#include <array>
#include <map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "hub/download_file.h"
#include "hub/hub_context.h"
#include "hub/model_files.h"
#include "hubload/mpi.h"
#include "mpi/blob_exchange.h"
#include "mpi/blob_plan.h"
#include "mpi/received_partial.h"
#include "mpi/topology.h"

namespace hubload::mpi_internal {
namespace fs = std::filesystem;
namespace {

constexpr std::uint64_t kStreamPiece = 8ull << 20;  // a Hub range of a blob the fabric streams

// What the job downloads: rank 0's answer, the same on every rank.
struct Manifest {
  std::string commit;
  std::vector<std::string> files;  // repo paths, in selection order
  std::vector<Blob> blobs;
  std::uint64_t index_bytes = 0;  // fetched by rank 0 to select the files (not sent with the list)
};

std::string to_json(const Manifest& m) {
  nlohmann::json blobs = nlohmann::json::array();
  for (const Blob& b : m.blobs) blobs.push_back({{"etag", b.etag}, {"size", b.size}, {"paths", b.paths}});
  return nlohmann::json{{"commit", m.commit}, {"files", m.files}, {"blobs", blobs}}.dump();
}

Result<Manifest> from_json(const std::string& text) {
  try {
    nlohmann::json doc = nlohmann::json::parse(text);
    Manifest m;
    m.commit = doc.at("commit").get<std::string>();
    m.files = doc.at("files").get<std::vector<std::string>>();
    for (const auto& b : doc.at("blobs")) {
      m.blobs.push_back({b.at("etag").get<std::string>(), b.at("size").get<std::uint64_t>(),
                         b.at("paths").get<std::vector<std::string>>()});
    }
    return m;
  } catch (const nlohmann::json::exception& e) {
    return Error(ErrorKind::internal, fmt::format("rank 0's file list did not parse: {}", e.what()));
  }
}

// Everything that must be equal on every rank; the cache folder is not (each
// node has its own).
std::string fingerprint(std::string_view model, const DownloadOptions& o) {
  const HubOptions& h = o.hub;
  nlohmann::json doc = {{"model", model},
                        {"revision", h.revision},
                        {"repo_type", to_string(h.repo_type)},
                        {"endpoint", h.endpoint.value_or(h.environment.hf_endpoint.value_or(""))},
                        {"include", o.allow_patterns},
                        {"exclude", o.ignore_patterns},
                        {"skip_weights", o.skip_download_weights},
                        {"generation_config", o.include_generation_config},
                        {"tokenizer", o.include_tokenizer},
                        {"offline", h.local_files_only || hub_offline(h.environment)}};
  return doc.dump();
}

// Rank 0: the commit, the listing (one API call) and the selection. An index
// file is fetched into rank 0's cache to read it; it then travels as any blob.
Result<Manifest> resolve_manifest(std::string_view model, const DownloadOptions& options) {
  HUBLOAD_ASSIGN_OR_RETURN(RepoInfo info, fetch_repo_info(model, options.hub));
  HubOptions at_commit = options.hub;
  at_commit.revision = info.sha;
  std::vector<std::string> available;
  for (const RepoFileInfo& f : info.files) available.push_back(f.path);
  std::uint64_t index_bytes = 0;
  auto read_index = [&](const std::string& index) -> Result<std::vector<std::string>> {
    HUBLOAD_ASSIGN_OR_RETURN(fs::path path, hub_download(model, index, at_commit));
    HUBLOAD_ASSIGN_OR_RETURN(std::string text, read_text_file(path));
    index_bytes += text.size();
    return hub_internal::weight_map_files(text, index);
  };
  HUBLOAD_ASSIGN_OR_RETURN(std::vector<std::string> files,
                           hub_internal::select_model_files(available, options, read_index, true));
  Manifest m;
  m.commit = info.sha;
  m.files = files;
  m.index_bytes = index_bytes;
  std::map<std::string, std::size_t> by_etag;
  for (const std::string& path : files) {
    auto it = std::find_if(info.files.begin(), info.files.end(), [&path](const RepoFileInfo& f) { return f.path == path; });
    if (it == info.files.end() || !it->size || (it->blob_id.empty() && !it->lfs_sha256)) {
      return invalid_input(fmt::format("the listing of {} at {} gives no size or hash for {}", model, info.sha, path));
    }
    const std::string etag = it->lfs_sha256 ? *it->lfs_sha256 : it->blob_id;
    auto [slot, fresh] = by_etag.try_emplace(etag, m.blobs.size());
    if (fresh) m.blobs.push_back({etag, *it->size, {}});
    m.blobs[slot->second].paths.push_back(path);
  }
  return m;
}

// Links every file whose blob this node holds, under the blob's lock as a
// single-node download does, then the ref. A received partial of an earlier
// run is of no use once the blob is here (this node fetched it from the Hub).
Status link_snapshot(const RepoCache& cache, const Manifest& m, std::string_view revision) {
  for (const Blob& blob : m.blobs) {
    HUBLOAD_ASSIGN_OR_RETURN(BlobLock lock, BlobLock::acquire(cache.lock_path(blob.etag)));
    remove_received_partial(cache, blob);
    for (const std::string& path : blob.paths) HUBLOAD_TRY(cache.link_snapshot(m.commit, path, blob.etag));
  }
  return cache.write_ref(revision, m.commit);
}

std::vector<std::uint8_t> blobs_present(const RepoCache& cache, const Manifest& m) {
  std::vector<std::uint8_t> have;
  for (const Blob& blob : m.blobs) {
    std::error_code ec;
    have.push_back(fs::exists(cache.blob_path(blob.etag), ec) ? 1 : 0);
  }
  return have;
}

int max_tag(MPI_Comm comm) {
  int* value = nullptr;
  int found = 0;
  MPI_Comm_get_attr(comm, MPI_TAG_UB, &value, &found);
  return found && value ? *value : 32767;  // the least the standard allows
}

// This node's Hub share in one transfer-engine call, as a plain download
// fetches its files (hub/fetch_listed.h): one connection budget and one
// session for all of them, so that connections move from blob to blob and only
// the share's tail is split. Per blob the engine says how far its partial is
// written and how it ended; the blobs are named by the listing's hashes, which
// the engine verifies before it publishes.
Status fetch_share(const hub_internal::HubContext& ctx, const std::string& commit, const DownloadOptions& options,
                   const HubShare& share, std::atomic<std::uint64_t>& hub_done) {
  std::vector<TransferFile> files;
  std::vector<FileProgress> progress;
  for (const Blob* blob : share.blobs) {
    const std::string& path = blob->paths.front();
    const hub_internal::FileMetadata meta{commit, blob->etag, blob->size, hub_internal::resolve_url(ctx, commit, path)};
    files.push_back(hub_internal::blob_transfer(ctx, meta, path));
    progress.push_back(FileProgress{path, 0, blob->size, 0, {}, 0});
  }
  TransferOptions transfer = hub_internal::blob_transfer_options(ctx);
  transfer.max_open_files = std::max(1, options.max_workers);
  // The fabric sends only a blob's written prefix. Pieces of a whole blob split
  // evenly over the connections would all end together, at the end of the share,
  // and leave the fabric idle until then; small pieces taken in order keep the
  // prefix within about connections × kStreamPiece of the bytes downloaded.
  transfer.chunk_size = std::min(transfer.chunk_size, std::max(transfer.min_split, kStreamPiece));
  transfer.on_prefix = share.on_prefix;
  const HubOptions& hub = options.hub;
  transfer.on_event = [&hub, &share, &progress, &hub_done](const TransferEvent& e) {
    hub_done = e.total_bytes;
    if (e.kind == TransferEventKind::done) share.on_end(e.file_index, std::nullopt);
    if (e.kind == TransferEventKind::error) {
      share.on_end(e.file_index, e.error ? *e.error : Error(ErrorKind::internal, e.message));
    }
    const bool wanted = hub_internal::report_transfer_event(hub, progress.at(e.file_index), e);
    return wanted && !share.stop();
  };
  HUBLOAD_ASSIGN_OR_RETURN(TransferStats stats, download_files(files, transfer));
  (void)stats;
  return ok();
}

// The leaders' share of the work: who has what, the plan, the exchange, the links.
ExchangeOutcome run_leader(const Topology& t, const hub_internal::HubContext& ctx, const DownloadOptions& options,
                           const Manifest& m, const DistributedOptions& mpi) {
  const RepoCache& cache = ctx.cache;
  Status prepared = cache.prepare();
  const std::vector<std::uint8_t> mine = blobs_present(cache, m);
  std::vector<std::uint8_t> all(mine.size() * static_cast<std::size_t>(t.nodes));
  MPI_Request request;
  MPI_Iallgather(mine.data(), static_cast<int>(mine.size()), MPI_UINT8_T, all.data(), static_cast<int>(mine.size()),
                 MPI_UINT8_T, t.leaders.get(), &request);
  wait_polling(&request, t.poll);
  std::vector<std::vector<bool>> have(t.nodes, std::vector<bool>(m.blobs.size()));
  for (int n = 0; n < t.nodes; ++n) {
    for (std::size_t b = 0; b < m.blobs.size(); ++b) have[n][b] = all[n * m.blobs.size() + b] != 0;
  }
  const std::vector<BlobTransfer> plan = plan_blob_transfers(m.blobs, have);
  ExchangeSetup setup;
  setup.topology = &t;
  setup.blobs = &m.blobs;
  setup.plan = &plan;
  setup.cache = &cache;
  setup.chunk_size = mpi.chunk_size;
  setup.window = mpi.window;
  setup.progress_tag = max_tag(t.world);  // check_options keeps the transfers below it
  setup.on_progress = mpi.on_progress;
  // The fetch thread's bytes on disk so far, over its whole share.
  std::atomic<std::uint64_t> hub_done{0};
  setup.hub_done = &hub_done;
  setup.fetch_share = [&ctx, &m, &options, &hub_done](const HubShare& share) {
    return fetch_share(ctx, m.commit, options, share, hub_done);
  };
  ExchangeOutcome out = exchange_blobs(setup);
  if (!prepared && out.status) out.status = prepared.error();
  if (out.status) {
    Status linked = link_snapshot(cache, m, options.hub.revision);
    if (!linked) out.status = linked.error();
  }
  return out;
}

Status check_options(const DistributedOptions& mpi, int max_tag, std::size_t transfers) {
  if (mpi.chunk_size == 0 || mpi.chunk_size > (1ull << 30)) {
    return invalid_input(fmt::format("the chunk size between nodes must be 1 byte to 1 GiB, not {}", mpi.chunk_size));
  }
  if (mpi.window < 1 || mpi.window > 64) return invalid_input(fmt::format("the window must be 1 to 64, not {}", mpi.window));
  // Tags: 0 notices, 1..transfers the transfers, max_tag the progress reports.
  if (transfers + 1 >= static_cast<std::size_t>(max_tag)) {
    return Error(ErrorKind::unsupported,
                 fmt::format("{} blobs exceed this MPI's largest message tag ({})", transfers, max_tag));
  }
  return ok();
}


}  // namespace
}  // namespace hubload::mpi_internal

namespace hubload {

Result<DistributedDownload> download_model_distributed(std::string_view model, const DownloadOptions& options,
                                                       const DistributedOptions& mpi) {
  using namespace mpi_internal;
  HUBLOAD_ASSIGN_OR_RETURN(Topology t, make_topology(mpi));
  DistributedDownload out;
  out.stats.rank = t.rank;
  out.stats.world = t.size;
  out.stats.node = t.node_index;
  out.stats.nodes = t.nodes;

  const std::string mine = fingerprint(model, options);
  std::string root = mine;
  broadcast_string(root, 0, t.world, t.poll);
  Status same = mine == root ? ok()
                             : invalid_input(fmt::format("started with other arguments than rank 0: {} here, {} there",
                                                         mine, root));
  HUBLOAD_TRY(agree(t, same));

  // A folder or offline: each rank answers from its own disk, no connection.
  std::error_code ec;
  const int folder = !model.empty() && fs::is_directory(fs::path(model), ec) ? 1 : 0;
  const bool offline = options.hub.local_files_only || hub_offline(options.hub.environment);
  int folders = 0;
  MPI_Request request;
  MPI_Iallreduce(&folder, &folders, 1, MPI_INT, MPI_SUM, t.world, &request);
  wait_polling(&request, t.poll);
  if (folders != 0 && folders != t.size) {
    return invalid_input(fmt::format("{} is a local folder on {} of the {} ranks: a folder must exist on every rank "
                                     "or on none", model, folders, t.size));
  }
  if (folders != 0 || offline) {
    Result<DownloadResult> local = download_model(model, options);
    HUBLOAD_TRY(agree(t, local ? ok() : Status(local.error())));
    out.result = std::move(*local);
    return out;
  }

  Result<hub_internal::HubContext> ctx = hub_internal::make_context(model, options.hub);
  HUBLOAD_TRY(agree(t, ctx ? ok() : Status(ctx.error())));
  Result<Manifest> manifest = t.rank == 0 ? resolve_manifest(model, options) : Manifest{};
  HUBLOAD_TRY(agree(t, manifest ? ok() : Status(manifest.error())));
  std::string text = t.rank == 0 ? to_json(*manifest) : std::string();
  broadcast_string(text, 0, t.world, t.poll);
  if (t.rank != 0) manifest = from_json(text);
  HUBLOAD_TRY(agree(t, manifest ? ok() : Status(manifest.error())));
  HUBLOAD_TRY(agree(t, check_options(mpi, max_tag(t.world), manifest->blobs.size())));

  ExchangeOutcome exchanged;
  if (t.leader()) exchanged = run_leader(t, *ctx, options, *manifest, mpi);
  const bool indexed = t.rank == 0 && manifest->index_bytes > 0;
  std::array<unsigned long long, 6> counts{exchanged.hub_bytes + (t.rank == 0 ? manifest->index_bytes : 0),
                                           exchanged.fabric_bytes, exchanged.blobs_from_hub + (indexed ? 1 : 0),
                                           exchanged.blobs_received, exchanged.streamed_bytes,
                                           exchanged.fabric_resumed};
  std::array<unsigned long long, 6> totals{};
  MPI_Iallreduce(counts.data(), totals.data(), static_cast<int>(counts.size()), MPI_UNSIGNED_LONG_LONG, MPI_SUM,
                 t.world, &request);
  wait_polling(&request, t.poll);
  HUBLOAD_TRY(agree(t, exchanged.status, exchanged.secondary));
  out.stats.hub_bytes = totals[0];
  out.stats.fabric_bytes = totals[1];
  out.stats.blobs_from_hub = totals[2];
  out.stats.blobs_moved = totals[3];
  out.stats.streamed_bytes = totals[4];
  out.stats.fabric_resumed = totals[5];
  out.result.snapshot = ctx->cache.snapshot_dir(manifest->commit);
  out.result.commit = manifest->commit;
  out.result.files = manifest->files;
  return out;
}

}  // namespace hubload
