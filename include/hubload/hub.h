// The Hugging Face Hub client: downloads into the Python-compatible cache
// (cache.h) over a Transport (transport.h), and resolves cached models offline.
//
// Nothing here reads the environment: pass read_hub_environment() (or a
// test's own HubEnvironment) in HubOptions::environment. Nothing prints:
// warnings and progress go to the callbacks.
#pragma once
#pragma GCC visibility push(default)  // public API: exported by the shared libraries (see CMake)

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hubload/cache.h"
#include "hubload/error.h"
#include "hubload/hub_environment.h"
#include "hubload/transfer.h"
#include "hubload/transport.h"

namespace hubload {

// Bytes of one repo file so far. Called from download worker threads.
struct FileProgress {
  std::string path;         // repo path, e.g. "model-00001-of-00002.safetensors"
  std::uint64_t bytes_done = 0;
  std::uint64_t bytes_total = 0;
  // Requests of this file retried so far (a drop, a stall, a truncated body,
  // 408/429/5xx, or one fetch from scratch after a hash mismatch), and why the
  // last one was.
  int retries = 0;
  std::string last_retry;
  // Connections the download's shared budget allows now (it adapts between
  // transfer.connections and transfer.max_connections).
  int connections = 0;
};
using ProgressCallback = std::function<void(const FileProgress&)>;
using WarningCallback = std::function<void(std::string_view)>;

struct HubOptions {
  // The environment (HF_HOME, HF_HUB_CACHE, HF_ENDPOINT, HF_HUB_OFFLINE, tokens).
  // Empty by default: the CLI passes read_hub_environment(), tests their own.
  HubEnvironment environment;
  std::optional<std::filesystem::path> cache_dir;  // overrides the environment's cache
  std::optional<std::string> endpoint;             // overrides HF_ENDPOINT
  std::string revision = "main";                   // branch, tag, 40-hex commit or refs/pr/N
  RepoType repo_type = RepoType::model;
  // Token discovery: this, else HF_TOKEN, else HUGGING_FACE_HUB_TOKEN, else the
  // file at HF_TOKEN_PATH or $HF_HOME/token. no_token sends none at all.
  std::optional<std::string> token;
  bool no_token = false;
  // No network call at all (also when the environment has HF_HUB_OFFLINE=1).
  bool local_files_only = false;
  // Every request, metadata and file bytes alike. Null: libcurl.
  std::shared_ptr<Transport> transport;
  // How file bytes are fetched: the transfer engine's connections (one budget
  // per call, shared by every file), timeouts, retries and backoff. Metadata
  // requests use its connect and stall timeouts. Its transport, budget and
  // on_event are the Hub client's own: set `transport` and `on_progress`.
  TransferOptions transfer;
  ProgressCallback on_progress;
  WarningCallback on_warning;
  // Polled with every transfer event of a file's bytes: once it is true, the
  // download stops with ErrorKind::cancelled and the partial is kept for resume
  // (Ctrl-C from the Python bindings). Not owned; must outlive the call.
  const std::atomic<bool>* cancel = nullptr;
};

struct DownloadOptions {
  HubOptions hub;
  // Non-empty: download exactly the files matching one of these (minus
  // ignore_patterns), e.g. {"*"} for the whole repo. Empty: the model files
  // (config.json, the index and the weights it names). fnmatch, '*' crosses '/'.
  std::vector<std::string> allow_patterns;
  std::vector<std::string> ignore_patterns;
  bool skip_download_weights = false;  // config.json + the weight index, no weights
  bool include_generation_config = false;
  bool include_tokenizer = false;  // tokenizer.json, tokenizer_config.json, vocab files, ...
  int max_workers = 8;
};

struct DownloadResult {
  std::filesystem::path snapshot;   // <cache>/<repo folder>/snapshots/<commit>, or the local folder
  std::string commit;               // empty for a local folder
  std::vector<std::string> files;   // repo paths present in the snapshot for this request
  bool local_folder = false;        // MODEL was an existing folder, returned as is
  bool from_cache = false;          // answered from the cache without contacting the Hub
  // Set when the Hub could not be reached and a complete cached snapshot was
  // returned instead (also reported through on_warning).
  std::optional<Error> network_failure;
  // The connection count the download's budget ended at (it adapts between
  // transfer.connections and transfer.max_connections); 0 when nothing was fetched.
  int connections = 0;
};

// A model: an existing local folder (returned as is) or a repo id.
Result<DownloadResult> download_model(std::string_view model, const DownloadOptions& options);

// One file of a repo → its path in the snapshot (hf_hub_download).
Result<std::filesystem::path> hub_download(std::string_view repo_id, std::string_view filename,
                                           const HubOptions& options);

// MODEL (folder or repo id) → local folder, from the cache only, never the
// network: a folder as is, else snapshots/<commit> for options.revision.
Result<std::filesystem::path> resolve_model_path(std::string_view model, const HubOptions& options);

// Repo metadata for remote inspection and planning.
struct RepoFileInfo {
  std::string path;
  std::optional<std::uint64_t> size;
  std::string blob_id;                    // git oid (of the LFS pointer for LFS files)
  std::optional<std::string> lfs_sha256;  // LFS content hash: the cache blob name
};
struct RepoInfo {
  std::string id;
  std::string sha;  // the commit options.revision resolves to
  std::vector<RepoFileInfo> files;
};
Result<RepoInfo> fetch_repo_info(std::string_view repo_id, const HubOptions& options);

// GET of bytes [range.first, range.last] of a repo file at options.revision
// (following the Hub's redirects, the token only to the Hub's own host). The
// answer must be 206 for exactly that range; a 200 (a server that ignores Range)
// is read only up to the range's end, then the transfer is cut off and sliced.
// At most 64 MiB per call.
Result<std::string> fetch_file_range(std::string_view repo_id, std::string_view path, ByteRange range,
                                     const HubOptions& options);

// The token the options lead to (nullopt: none), for callers that talk to the
// Hub themselves. Never log it; see mask_token.
Result<std::optional<std::string>> discover_token(const HubOptions& options);
std::string mask_token(std::string_view token);  // "hf_a…wxyz"-style, never the whole token

// allow/ignore filtering of repo paths per the Hub's rules (§11 of hub-protocol.md).
bool hub_pattern_match(std::string_view pattern, std::string_view path);
bool hub_path_selected(std::string_view path, const std::vector<std::string>& allow,
                       const std::vector<std::string>& ignore);

}  // namespace hubload
#pragma GCC visibility pop
