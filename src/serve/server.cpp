#include <nlohmann/json.hpp>

#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <random>
#include <span>
#include <system_error>

#include "serve/server_impl.h"
#include "serve/server_testing.h"

namespace hubload::serve_internal {
namespace {

namespace fs = std::filesystem;

// Signs CDN URLs, so it must be unguessable: 256 bits straight from the OS. (The
// cache's random_hex8 only has to make temp names unique, which is not enough here.)
std::string signing_secret() {
  std::random_device rd;
  std::array<std::uint32_t, 8> words{};
  for (auto& w : words) w = rd();
  return util_internal::sha256_hex(std::as_bytes(std::span(words)));
}

Status load_repos(ServerImpl& impl) {
  const ServeOptions& o = impl.opts;
  std::error_code ec;
  if (!o.cache_dir.empty()) {
    if (!fs::is_directory(o.cache_dir, ec)) {
      return invalid_input("cache directory " + o.cache_dir.string() + " does not exist or is not a directory");
    }
    for (const fs::directory_entry& e : fs::directory_iterator(o.cache_dir, ec)) {
      if (!e.is_directory(ec)) continue;
      // .locks and anything else that is not a repo folder is not served.
      auto folder = parse_repo_folder_name(e.path().filename().string());
      if (!folder) continue;
      impl.repos[repo_key(folder->type, folder->repo_id)] =
          make_cache_repo(RepoCache(o.cache_dir, folder->repo_id, folder->type), o.lfs_threshold);
    }
    if (ec) return errno_error(o.cache_dir.string(), ec.value());
  }
  for (const FolderRepo& f : o.folders) {
    HUBLOAD_TRY(validate_repo_id(f.repo_id));
    if (!fs::is_directory(f.dir, ec)) {
      return invalid_input("repo " + f.repo_id + ": folder " + f.dir.string() + " does not exist");
    }
    impl.repos[repo_key(f.type, f.repo_id)] = make_folder_repo(f.dir, o.lfs_threshold);
  }
  if (impl.repos.empty() && o.cache_dir.empty()) {
    return invalid_input("nothing to serve: give a cache directory or at least one folder repo");
  }
  return ok();
}

void configure(httplib::Server& svr, int threads) {
  svr.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<std::size_t>(threads)); };
  // A short keep-alive wait so stop() is not held up by an idle client connection.
  svr.set_keep_alive_timeout(2);
  svr.set_keep_alive_max_count(1000);
  svr.set_read_timeout(10);
  svr.set_write_timeout(30);
}

// Binds (a free port when `port` is 0) and runs the accept loop on `thread`.
Result<int> listen(httplib::Server& svr, const std::string& host, int port, std::thread& thread) {
  // Debian's compiled cpp-httplib listens with a backlog of 5: a client opening 8
  // connections at once overflows it, and each dropped SYN costs the client a 1 s
  // retransmit. Keep the socket so that listen() can raise the backlog after bind.
  socket_t sock = INVALID_SOCKET;
  svr.set_socket_options([&sock](socket_t s) {
    httplib::default_socket_options(s);
    sock = s;
  });
  int bound = port;
  if (port == 0) {
    bound = svr.bind_to_any_port(host);
    if (bound < 0) return io_error("cannot bind " + host + " to a free port");
  } else if (!svr.bind_to_port(host, port)) {
    return io_error("cannot bind " + host + ":" + std::to_string(port) + " (in use, or not a local address)");
  }
  svr.set_socket_options(httplib::default_socket_options);
  if (sock != INVALID_SOCKET && ::listen(sock, SOMAXCONN) != 0)
    return errno_error("raising the listen backlog of " + host + ":" + std::to_string(bound), errno);
  thread = std::thread([&svr] { svr.listen_after_bind(); });
  // stop() only interrupts a loop that runs, so wait until it does.
  while (!svr.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return bound;
}

}  // namespace

std::string repo_key(RepoType type, std::string_view repo_id) {
  return std::string(to_string(type)) + ":" + std::string(repo_id);
}

void send_error(httplib::Response& res, int status, std::string_view code, std::string_view message) {
  res.status = status;
  if (!code.empty()) res.set_header("X-Error-Code", std::string(code));
  res.set_header("X-Error-Message", std::string(message));
  res.set_content(nlohmann::json{{"error", message}}.dump(), "application/json");
}

void send_json(httplib::Response& res, const std::string& body) {
  if (res.status == -1) res.status = 200;
  res.set_content(body, "application/json");
}

bool truthy(const httplib::Request& req, const std::string& param) {
  if (!req.has_param(param.c_str())) return false;
  std::string v = req.get_param_value(param.c_str());
  for (char& c : v) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return v == "true" || v == "1";
}

void send_fault_status(httplib::Response& res, const FaultRule& rule) {
  std::string t = std::to_string(rule.retry_after_s);
  res.set_header("Retry-After", t);
  if (rule.status == 429) {
    // The Hub's IETF-draft headers (hub-protocol.md §3.4): 1.x waits t + 1 seconds.
    res.set_header("RateLimit", "\"api\";r=0;t=" + t);
    res.set_header("RateLimit-Policy", "\"fixed window\";\"api\";q=1000;w=300");
    send_error(res, 429, "", "rate limited (injected fault)");
  } else {
    send_error(res, rule.status, "", "server error (injected fault)");
  }
}

void ServerImpl::record(const httplib::Request& req, bool on_cdn) {
  std::lock_guard lock(stats_mu);
  // Bounded: a long-running server probed with random paths must not grow without limit.
  constexpr std::size_t kMaxKeys = 100000;
  std::string key = req.method + " " + req.path;
  if (stats.requests.size() >= kMaxKeys && stats.requests.count(key) == 0) key = req.method + " (other)";
  ++stats.requests[key];
  if (on_cdn) {
    ++stats.cdn_requests;
    if (req.has_header("Authorization")) ++cdn_authorized_requests;
  }
}

RepoSource* ServerImpl::find_repo(const std::string& key) {
  auto it = repos.find(key);
  return it == repos.end() ? nullptr : it->second.get();
}

std::string ServerImpl::host_for_links(const httplib::Request& req) const {
  std::string host = req.get_header_value("Host");
  if (host.empty() || host.find_first_of(" /\\\r\n") != std::string::npos) {
    host = opts.host + ":" + std::to_string(port);
  }
  return "http://" + host;
}

void ServerImpl::handle_stats(httplib::Response& res) {
  ServeStats s;
  {
    std::lock_guard lock(stats_mu);
    s = stats;
  }
  nlohmann::json j{{"requests", s.requests},
                   {"bytes_sent", bytes_sent.load()},
                   {"cdn_requests", s.cdn_requests},
                   {"cdn_saw_authorization", cdn_authorized_requests.load() != 0}};
  send_json(res, j.dump());
}

void ServerImpl::handle_main(const httplib::Request& req, httplib::Response& res) {
  record(req, false);
  Route r = parse_route(req.target);
  if (r.kind == Route::Kind::stats && stats_endpoint) return handle_stats(res);
  if (r.kind == Route::Kind::bad_path) return send_error(res, 400, "BadRequest", "invalid path in " + req.path);
  if (r.kind == Route::Kind::unknown || r.kind == Route::Kind::stats) {
    return send_error(res, 404, "", "no such endpoint: " + req.path);
  }
  FaultPlan plan = faults.plan(FaultInjector::Scope::status, {req.path, r.path});
  if (plan.error) return send_fault_status(res, *plan.error);

  auto renamed = opts.renamed.find(r.repo_id);
  if (renamed != opts.renamed.end()) {
    // Relative, so clients follow it and keep the token (hub-protocol.md §2.2).
    res.status = 307;
    res.set_header("Location", r.raw_prefix + renamed->second + r.raw_suffix);
    return;
  }
  RepoSource* repo = find_repo(repo_key(r.type, r.repo_id));
  if (repo == nullptr) {
    return send_error(res, 401, "RepoNotFound", "Repository Not Found for " + std::string(to_string(r.type)) + " '" + r.repo_id + "'");
  }
  auto gate = opts.gated.find(r.repo_id);
  if (gate != opts.gated.end()) {
    std::string auth = req.get_header_value("Authorization");
    if (auth.empty()) {
      return send_error(res, 401, "GatedRepo", "Access to model " + r.repo_id + " is restricted. You must have access to it and be authenticated to access it.");
    }
    if (auth != "Bearer " + gate->second) {
      return send_error(res, 403, "GatedRepo", "Access to model " + r.repo_id + " is restricted and you are not in the authorized list.");
    }
  }
  switch (r.kind) {
    case Route::Kind::resolve: return handle_resolve(req, res, r, *repo);
    case Route::Kind::repo_info: return handle_repo_info(req, res, r, *repo);
    case Route::Kind::tree: return handle_tree(req, res, r, *repo);
    case Route::Kind::refs: return handle_refs(req, res, r, *repo);
    case Route::Kind::paths_info: return handle_paths_info(req, res, r, *repo);
    default: return send_error(res, 404, "", "no such endpoint: " + req.path);
  }
}

Result<std::unique_ptr<Server>> ServerAccess::start(ServeOptions options, bool stats_endpoint) {
  if (options.threads < 1 || options.threads > 1024) {
    return invalid_input("threads must be between 1 and 1024, got " + std::to_string(options.threads));
  }
  if (options.tree_page_size == 0) return invalid_input("tree page size must be positive");
  auto impl = std::make_unique<ServerImpl>(std::move(options), stats_endpoint);
  HUBLOAD_TRY(load_repos(*impl));
  impl->cdn_secret = signing_secret();
  ServerImpl* p = impl.get();

  configure(impl->main, impl->opts.threads);
  // Routing is ours (parse_route works on the raw target, so "refs%2Fpr%2F1" stays one
  // segment); only POST bodies need httplib's routing, which reads the body after this hook.
  impl->main.set_pre_routing_handler([p](const httplib::Request& req, httplib::Response& res) {
    if (req.method == "POST") return httplib::Server::HandlerResponse::Unhandled;
    // httplib would apply its own Range slicing (no clamping, no 416) to whatever we answer;
    // serve_file_body does it per hub-protocol.md §3.3 instead. The Request object is
    // httplib's own non-const local, so clearing it is defined behaviour.
    const_cast<httplib::Request&>(req).ranges.clear();
    p->handle_main(req, res);
    return httplib::Server::HandlerResponse::Handled;
  });
  impl->main.Post(".*", [p](const httplib::Request& req, httplib::Response& res) { p->handle_main(req, res); });
  HUBLOAD_ASSIGN_OR_RETURN(impl->port, listen(impl->main, impl->opts.host, impl->opts.port, impl->main_thread));

  if (impl->opts.cdn) {
    configure(impl->cdn, impl->opts.threads);
    impl->cdn.set_pre_routing_handler([p](const httplib::Request& req, httplib::Response& res) {
      const_cast<httplib::Request&>(req).ranges.clear();
      p->handle_cdn(req, res);
      return httplib::Server::HandlerResponse::Handled;
    });
    auto cdn_port = listen(impl->cdn, impl->opts.host, impl->opts.cdn_port, impl->cdn_thread);
    if (!cdn_port) {
      impl->main.stop();
      impl->main_thread.join();
      return std::move(cdn_port).error();
    }
    impl->cdn_port = *cdn_port;
  }
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

std::uint64_t ServerAccess::cdn_requests_with_authorization(const Server& server) {
  return server.impl_->cdn_authorized_requests.load();
}

}  // namespace hubload_internal

namespace hubload {

using serve_internal::ServerAccess;

Result<std::unique_ptr<Server>> Server::start(ServeOptions options) {
  return ServerAccess::start(std::move(options), false);
}

Server::Server(std::unique_ptr<serve_internal::ServerImpl> impl) : impl_(std::move(impl)) {}
Server::~Server() { stop(); }

void Server::stop() {
  std::call_once(impl_->stopped, [this] {
    impl_->sleeper.stop();
    impl_->main.stop();
    if (impl_->cdn_thread.joinable()) impl_->cdn.stop();
    if (impl_->main_thread.joinable()) impl_->main_thread.join();
    if (impl_->cdn_thread.joinable()) impl_->cdn_thread.join();
  });
}

int Server::port() const { return impl_->port; }
int Server::cdn_port() const { return impl_->cdn_port; }
std::string Server::url() const { return "http://" + impl_->opts.host + ":" + std::to_string(impl_->port); }
std::string Server::cdn_url() const {
  return impl_->cdn_port == 0 ? "" : "http://" + impl_->opts.host + ":" + std::to_string(impl_->cdn_port);
}

ServeStats Server::stats() const {
  ServeStats s;
  {
    std::lock_guard lock(impl_->stats_mu);
    s = impl_->stats;
  }
  s.bytes_sent = impl_->bytes_sent.load();
  return s;
}

void Server::reset_stats() {
  std::lock_guard lock(impl_->stats_mu);
  impl_->stats = ServeStats{};
  impl_->bytes_sent = 0;
  impl_->cdn_authorized_requests = 0;
}

void Server::set_faults(FaultOptions faults) { impl_->faults.reset(std::move(faults)); }

std::uint64_t ServeStats::count(std::string_view method, std::string_view path) const {
  auto it = requests.find(std::string(method) + " " + std::string(path));
  return it == requests.end() ? 0 : it->second;
}

std::uint64_t ServeStats::count_matching(std::string_view method, std::string_view fragment) const {
  std::uint64_t n = 0;
  std::string prefix = std::string(method) + " ";
  for (const auto& [key, value] : requests) {
    if (key.starts_with(prefix) && key.find(fragment, prefix.size()) != std::string::npos) n += value;
  }
  return n;
}

}  // namespace hubload
