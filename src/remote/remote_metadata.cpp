// remote_safetensors_metadata: which files hold the weights (model.safetensors,
// else the index and its shards), their headers by Range requests, and the
// per-commit cache that makes a repeated call free (hub-protocol.md §16).
#include "hubload/remote_metadata.h"

#include <atomic>

#include <fmt/format.h>

#include "hub/download_file.h"
#include "hub/file_metadata.h"
#include "remote/remote_header.h"
#include "remote/remote_metadata_cache.h"
#include "util/json_limits.h"

namespace hubload {
namespace {
using namespace hub_internal;
using namespace remote_internal;

constexpr std::string_view kSingleFile = "model.safetensors";
constexpr std::string_view kIndexFile = "model.safetensors.index.json";

// Counts the requests and body bytes of one call, for the caller's report.
class CountingTransport final : public Transport {
 public:
  explicit CountingTransport(std::shared_ptr<Transport> inner) : inner_(std::move(inner)) {}
  Result<HttpResponse> send(const HttpRequest& request) override {
    requests_.fetch_add(1);
    HttpRequest counted = request;
    if (request.sink) {
      counted.sink = [this, sink = request.sink](std::span<const char> chunk) {
        bytes_.fetch_add(chunk.size());
        return sink(chunk);
      };
    }
    Result<HttpResponse> response = inner_->send(counted);
    if (response && !request.sink) bytes_.fetch_add(response->body.size());
    return response;
  }
  int requests() const { return requests_.load(); }
  std::uint64_t bytes() const { return bytes_.load(); }

 private:
  std::shared_ptr<Transport> inner_;
  std::atomic<int> requests_{0};
  std::atomic<std::uint64_t> bytes_{0};
};

ReaderOptions reader_options(const RemoteMetadataOptions& options) {
  ReaderOptions reader;
  reader.max_header_bytes = options.max_header_bytes;
  return reader;
}

std::string commit_root(const HubContext& ctx, std::string_view commit) {
  std::string url = resolve_url(ctx, commit, "");
  if (url.ends_with('/')) url.pop_back();
  return url;
}

// The validated checkpoint from cached or freshly fetched headers.
Result<Checkpoint> build_checkpoint(const HubContext& ctx, const CachedMetadata& meta,
                                    std::vector<SafetensorsHeader> headers) {
  std::vector<std::string> files;
  for (const CachedShard& s : meta.shards) files.push_back(s.file);
  std::optional<ShardedIndex> index;
  std::optional<std::string> index_url;
  if (meta.index_json) {
    index_url = resolve_url(ctx, meta.commit, *meta.index_file);
    HUBLOAD_ASSIGN_OR_RETURN(index, parse_index(*meta.index_json, *index_url));
  }
  return assemble_checkpoint(commit_root(ctx, meta.commit), std::move(index_url), index ? &*index : nullptr,
                             std::move(files), std::move(headers));
}

// A cache hit re-validates every stored header; anything wrong is a miss.
std::optional<Checkpoint> from_cache(const HubContext& ctx, const CachedMetadata& meta,
                                     const RemoteMetadataOptions& options) {
  std::vector<SafetensorsHeader> headers;
  for (const CachedShard& s : meta.shards) {
    std::string prefix(8, '\0');
    std::uint64_t n = s.header_json.size();
    for (int i = 0; i < 8; ++i) prefix[i] = static_cast<char>((n >> (8 * i)) & 0xff);
    prefix += s.header_json;
    Result<SafetensorsHeader> header = parse_header(std::as_bytes(std::span(prefix.data(), prefix.size())), s.size,
                                                    reader_options(options), s.file);
    if (!header) return std::nullopt;
    headers.push_back(std::move(*header));
  }
  Result<Checkpoint> checkpoint = build_checkpoint(ctx, meta, std::move(headers));
  if (!checkpoint) return std::nullopt;
  return std::move(*checkpoint);
}

// model.safetensors, else the index (downloaded into the cache, as Python does)
// and the shards its weight_map names. Fills commit, index and shard files.
Status find_weight_files(const HubContext& ctx, std::string_view revision, CachedMetadata& meta) {
  HeadOutcome single = head_file(ctx, revision, kSingleFile);
  if (single.metadata) {
    meta.commit = single.metadata->commit;
    meta.shards.push_back({std::string(kSingleFile), single.metadata->size, {}});
    return ok();
  }
  if (!single.missing_at_commit) return std::move(single.metadata).error();  // repo, revision, auth, network
  Result<FileOutcome> index = download_file(ctx, revision, kIndexFile);
  if (!index) {
    if (index.error().kind() != ErrorKind::not_found) return std::move(index).error();
    return not_found(fmt::format("{} at revision '{}' has neither {} nor {}: not a safetensors repo ({})",
                                 ctx.cache.repo_id(), revision, kSingleFile, kIndexFile,
                                 resolve_url(ctx, revision, kIndexFile)));
  }
  // The snapshot path names the commit the index was resolved at.
  meta.commit = index->path.parent_path().filename().string();
  if (!is_commit_hash(meta.commit)) return internal_error("index outside a snapshot: " + index->path.string());
  HUBLOAD_ASSIGN_OR_RETURN(std::string text, read_text_file(index->path.string()));
  const std::string source = resolve_url(ctx, meta.commit, kIndexFile);
  HUBLOAD_TRY(util_internal::check_json_limits(text, source));  // the server sent it: bounded before it is parsed
  HUBLOAD_ASSIGN_OR_RETURN(ShardedIndex parsed, parse_index(text, source));
  for (const std::string& shard : parsed.shard_files()) {
    Status valid = validate_repo_file_path(shard);
    if (!valid) return std::move(valid).error().with_context(source);
    meta.shards.push_back({shard, 0, {}});
  }
  meta.index_file = std::string(kIndexFile);
  meta.index_json = std::move(text);
  return ok();
}

}  // namespace

Result<RemoteSafetensors> remote_safetensors_metadata(std::string_view repo_id,
                                                      const RemoteMetadataOptions& options) {
  auto counter = std::make_shared<CountingTransport>(options.hub.transport ? options.hub.transport
                                                                           : make_curl_transport());
  HubOptions hub = options.hub;
  hub.transport = counter;
  HUBLOAD_ASSIGN_OR_RETURN(HubContext ctx, make_context(repo_id, hub));
  const RemoteMetadataCache cache(ctx.cache);
  const std::string& revision = options.hub.revision;

  RemoteSafetensors out;
  out.repo_id = std::string(repo_id);
  std::optional<std::string> known_commit;
  if (is_commit_hash(revision)) {
    known_commit = revision;
  } else if (!options.refresh || ctx.offline) {
    known_commit = cache.read_ref(revision);
  }
  if (known_commit) {
    if (std::optional<CachedMetadata> meta = cache.load(*known_commit)) {
      if (std::optional<Checkpoint> checkpoint = from_cache(ctx, *meta, options)) {
        out.commit = *known_commit;
        out.checkpoint = std::move(*checkpoint);
        out.from_cache = true;
        return out;
      }
    }
  }
  if (ctx.offline) {
    return Error(ErrorKind::offline,
                 fmt::format("the safetensors headers of {} at revision '{}' are not cached under {}, and offline "
                             "mode is on", repo_id, revision, cache.metadata_path(known_commit.value_or("<commit>")).string()));
  }

  CachedMetadata meta;
  HUBLOAD_TRY(find_weight_files(ctx, revision, meta));
  std::vector<SafetensorsHeader> headers;
  for (CachedShard& shard : meta.shards) {
    Result<RemoteHeader> header = fetch_remote_header(ctx, meta.commit, shard.file, options);
    if (!header) {
      Error error = std::move(header).error();
      if (meta.index_file) {
        return std::move(error).with_context(fmt::format("shard {} named by {}", shard.file, *meta.index_file));
      }
      return error;
    }
    out.server_ignored_range = out.server_ignored_range || header->server_ignored_range;
    shard.size = header->header.file_size;
    shard.header_json = std::move(header->json);
    headers.push_back(std::move(header->header));
  }
  HUBLOAD_ASSIGN_OR_RETURN(out.checkpoint, build_checkpoint(ctx, meta, std::move(headers)));
  HUBLOAD_TRY(cache.store(meta, revision));
  out.commit = meta.commit;
  out.requests = counter->requests();
  out.bytes_received = counter->bytes();
  if (out.server_ignored_range && options.hub.on_warning) {
    options.hub.on_warning(fmt::format("{} answered a Range request with the whole file; hubload stopped reading "
                                       "after the header bytes", ctx.endpoint));
  }
  return out;
}

}  // namespace hubload
