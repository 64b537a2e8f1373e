// `hubload serve`: a read-only, Hub-compatible HTTP server (hub-protocol.md §17.2).
//
// It serves repos from a huggingface_hub cache directory and from plain model
// folders, answers the repo-info, tree, refs and paths-info APIs and HEAD/GET on
// /resolve with the exact headers the Python client reads, and optionally
// redirects large files to a second "CDN" listener. For tests and benchmarks it
// can throttle bodies and inject faults (FaultOptions). The server runs on
// background threads of the calling process and stops when destroyed.
//
// Threading: every Server method is safe to call from any thread.
#pragma once
#pragma GCC visibility push(default)  // public API: exported by the shared libraries (see CMake)

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "hubload/cache.h"
#include "hubload/error.h"
#include "hubload/faults.h"

namespace hubload {

namespace serve_internal {
class ServerImpl;
struct ServerAccess;
}  // namespace serve_internal

// A plain folder served as one repo; its commit is derived from its listing
// (paths, sizes, mtimes), so it changes when a file changes.
struct FolderRepo {
  std::string repo_id;  // "org/name" (or a legacy "name"), checked by validate_repo_id
  RepoType type = RepoType::model;
  std::filesystem::path dir;
};

// Which file symlinks inside a served folder or cache are followed. A link
// whose target is not followed is left out of the repo, like a broken link.
enum class SymlinkPolicy {
  inside,  // targets inside the served folder or the cache (snapshot -> blob links)
  any,     // any target the server can read (a folder of links to elsewhere)
};

struct ServeOptions {
  std::string host = "127.0.0.1";  // any other address must be asked for explicitly
  int port = 0;                    // 0 = a free port, see Server::port()
  std::filesystem::path cache_dir; // a Hub cache (models--org--name/...), optional
  std::vector<FolderRepo> folders;
  std::map<std::string, std::string> renamed;  // old repo id -> new repo id (307)
  std::map<std::string, std::string> gated;    // repo id -> the one token that has access
  bool cdn = false;      // LFS files: 302 to a second listener on cdn_port
  int cdn_port = 0;
  // Worker threads per listener: requests answered at once. Idle and half-sent
  // connections wait in one event loop and hold no worker (docs/security.md).
  int threads = 16;
  std::size_t tree_page_size = 1000;
  std::uint64_t lfs_threshold = 10 * 1024 * 1024;  // folder files above this are LFS
  FaultOptions faults;  // faults.h: the vocabulary shared with the client-side test transport
  // Body bytes per second over every response at once (0 = unlimited): one
  // shared egress, as a cluster's way out to the Hub (faults.limit_rate is per response).
  std::uint64_t max_rate_total = 0;

  // Limits against hostile clients (docs/security.md).
  int max_connections_per_client = 256;  // open connections per client IP; more are answered 503
  std::chrono::milliseconds header_timeout{5000};  // a whole request header (and body) must arrive within it
  std::chrono::milliseconds idle_timeout{10000};   // a keep-alive connection without a new request is closed
  std::size_t max_body_bytes = 1024 * 1024;        // larger request bodies get 413, unread
  SymlinkPolicy follow_symlinks = SymlinkPolicy::inside;
};

struct ServeStats {
  std::map<std::string, std::uint64_t> requests;  // "GET /org/name/resolve/main/x" -> count
  std::uint64_t bytes_sent = 0;                   // body bytes of file responses
  std::uint64_t cdn_requests = 0;

  // Requests with this method and decoded path (no query), 0 if none.
  std::uint64_t count(std::string_view method, std::string_view path) const;
  // Requests with this method whose path contains `fragment`.
  std::uint64_t count_matching(std::string_view method, std::string_view fragment) const;
};

class Server {
 public:
  // Binds, then serves on background threads. Fails with invalid_input for bad
  // options (no repo source, unreadable cache) and io when the port is taken.
  static Result<std::unique_ptr<Server>> start(ServeOptions options);

  ~Server();  // stop()
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  int port() const;
  int cdn_port() const;      // 0 without CDN mode
  std::string url() const;   // "http://127.0.0.1:PORT"
  std::string cdn_url() const;
  ServeStats stats() const;
  void reset_stats();
  // Replaces the fault settings of a running server (rule counters restart).
  void set_faults(FaultOptions faults);
  void stop();               // idempotent; interrupts stalls and throttled bodies

 private:
  friend struct serve_internal::ServerAccess;
  explicit Server(std::unique_ptr<serve_internal::ServerImpl> impl);
  std::unique_ptr<serve_internal::ServerImpl> impl_;
};

}  // namespace hubload
#pragma GCC visibility pop
