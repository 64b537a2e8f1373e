#include <nlohmann/json.hpp>

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

// A folder's links may point inside it or into the served cache; a folder that
// is a cache snapshot (.../snapshots/<commit>) may also point at its repo's blobs.
LinkPolicy folder_links(const ServeOptions& o, const fs::path& dir) {
  std::vector<fs::path> roots{dir};
  if (!o.cache_dir.empty()) roots.push_back(o.cache_dir);
  fs::path snapshot = fs::absolute(dir).lexically_normal();
  if (snapshot.filename().empty()) snapshot = snapshot.parent_path();  // a trailing '/'
  if (snapshot.parent_path().filename() == "snapshots") roots.push_back(snapshot.parent_path().parent_path() / "blobs");
  return LinkPolicy(o.follow_symlinks, roots);
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
          make_cache_repo(RepoCache(o.cache_dir, folder->repo_id, folder->type), o.lfs_threshold,
                          LinkPolicy(o.follow_symlinks, {o.cache_dir}));
    }
    if (ec) return errno_error(o.cache_dir.string(), ec.value());
  }
  for (const FolderRepo& f : o.folders) {
    HUBLOAD_TRY(validate_repo_id(f.repo_id));
    if (!fs::is_directory(f.dir, ec)) {
      return invalid_input("repo " + f.repo_id + ": folder " + f.dir.string() + " does not exist");
    }
    impl.repos[repo_key(f.type, f.repo_id)] = make_folder_repo(f.dir, o.lfs_threshold, folder_links(o, f.dir));
  }
  if (impl.repos.empty() && o.cache_dir.empty()) {
    return invalid_input("nothing to serve: give a cache directory or at least one folder repo");
  }
  return ok();
}

void configure(httplib::Server& svr, const ServeOptions& o) {
  // Advertised in Keep-Alive: the loop closes a connection idle this long.
  svr.set_keep_alive_timeout(std::max<time_t>(1, std::chrono::duration_cast<std::chrono::seconds>(o.idle_timeout).count()));
  svr.set_keep_alive_max_count(1000);
  // The loop has already refused larger bodies; this is the second line.
  svr.set_payload_max_length(o.max_body_bytes);
}

LoopLimits limits(const ServeOptions& o) {
  LoopLimits l;
  l.threads = o.threads;
  l.max_connections_per_client = o.max_connections_per_client;
  l.header_timeout = o.header_timeout;
  l.idle_timeout = o.idle_timeout;
  l.max_body_bytes = o.max_body_bytes;
  return l;
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

std::optional<Revision> revision_or_error(httplib::Response& res, const Route& r, RepoSource& repo,
                                          bool one_path) {
  const std::string rev = r.revision.empty() ? "main" : r.revision;
  auto found = one_path ? repo.revision_for(rev, r.path) : repo.revision(rev);
  if (found) return std::move(*found);
  if (found.error().kind() == ErrorKind::not_found) {
    send_error(res, 404, "RevisionNotFound", "Invalid rev id: " + rev);
  } else {
    send_error(res, 500, "", found.error().message());
  }
  return std::nullopt;
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

RepoSource* ServerImpl::admit(const httplib::Request& req, httplib::Response& res, const Route& r,
                               bool inject_faults) {
  if (r.kind == Route::Kind::bad_path) {
    send_error(res, 400, "BadRequest", "invalid path in " + req.path);
    return nullptr;
  }
  if (r.kind == Route::Kind::unknown || r.kind == Route::Kind::stats) {
    send_error(res, 404, "", "no such endpoint: " + req.path);
    return nullptr;
  }
  if (inject_faults) {
    FaultPlan plan = faults.plan(FaultInjector::Scope::status, {req.path, r.path});
    if (plan.error) {
      send_fault_status(res, *plan.error);
      return nullptr;
    }
  }
  auto renamed = opts.renamed.find(r.repo_id);
  if (renamed != opts.renamed.end()) {
    // Relative, so clients follow it and keep the token (hub-protocol.md §2.2).
    res.status = 307;
    res.set_header("Location", r.raw_prefix + renamed->second + r.raw_suffix);
    return nullptr;
  }
  RepoSource* repo = find_repo(repo_key(r.type, r.repo_id));
  if (repo == nullptr) {
    send_error(res, 401, "RepoNotFound", "Repository Not Found for " + std::string(to_string(r.type)) + " '" + r.repo_id + "'");
    return nullptr;
  }
  auto gate = opts.gated.find(r.repo_id);
  if (gate != opts.gated.end()) {
    std::string auth = req.get_header_value("Authorization");
    if (auth.empty()) {
      send_error(res, 401, "GatedRepo", "Access to model " + r.repo_id + " is restricted. You must have access to it and be authenticated to access it.");
      return nullptr;
    }
    if (auth != "Bearer " + gate->second) {
      send_error(res, 403, "GatedRepo", "Access to model " + r.repo_id + " is restricted and you are not in the authorized list.");
      return nullptr;
    }
  }
  return repo;
}

std::optional<httplib::Response> ServerImpl::check_body(const RequestHead& head) {
  const httplib::Request& req = head.request;
  httplib::Response res;
  // No injected faults here: a fault rule counts the requests that reach handle_main.
  if (admit(req, res, parse_route(req.target), false) == nullptr) {
    record(req, false);
    return res;
  }
  if (req.method != "POST") {
    // Its handler would not read the body, and the body would be taken for the next request.
    record(req, false);
    send_error(res, 400, "BadRequest", "a " + req.method + " request takes no body");
    return res;
  }
  return std::nullopt;
}

void ServerImpl::handle_main(const httplib::Request& req, httplib::Response& res) {
  record(req, false);
  Route r = parse_route(req.target);
  if (r.kind == Route::Kind::stats && stats_endpoint) return handle_stats(res);
  RepoSource* repo = admit(req, res, r, true);
  if (repo == nullptr) return;
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
  if (options.max_connections_per_client < 1) {
    return invalid_input("max connections per client must be at least 1, got " +
                         std::to_string(options.max_connections_per_client));
  }
  if (options.header_timeout.count() <= 0 || options.idle_timeout.count() <= 0) {
    return invalid_input("the header and idle timeouts must be positive");
  }
  if (options.max_body_bytes == 0) return invalid_input("max body bytes must be positive (paths-info takes a body)");
  auto impl = std::make_unique<ServerImpl>(std::move(options), stats_endpoint);
  HUBLOAD_TRY(load_repos(*impl));
  impl->cdn_secret = signing_secret();
  ServerImpl* p = impl.get();

  configure(impl->main, impl->opts);
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
  HUBLOAD_ASSIGN_OR_RETURN(impl->main_loop,
                           ConnectionLoop::start(impl->opts.host, impl->opts.port, limits(impl->opts), impl->main,
                                                 [p](const RequestHead& head) { return p->check_body(head); }));
  impl->port = impl->main_loop->port();

  if (impl->opts.cdn) {
    configure(impl->cdn, impl->opts);
    impl->cdn.set_pre_routing_handler([p](const httplib::Request& req, httplib::Response& res) {
      const_cast<httplib::Request&>(req).ranges.clear();
      p->handle_cdn(req, res);
      return httplib::Server::HandlerResponse::Handled;
    });
    // The CDN serves blobs only: no request of its carries a body.
    auto no_body = [](const RequestHead&) {
      httplib::Response res;
      send_error(res, 400, "BadRequest", "the CDN takes no request body");
      return std::optional<httplib::Response>(std::move(res));
    };
    HUBLOAD_ASSIGN_OR_RETURN(impl->cdn_loop, ConnectionLoop::start(impl->opts.host, impl->opts.cdn_port,
                                                                   limits(impl->opts), impl->cdn, no_body));
    impl->cdn_port = impl->cdn_loop->port();
  }
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

std::uint64_t ServerAccess::cdn_requests_with_authorization(const Server& server) {
  return server.impl_->cdn_authorized_requests.load();
}

std::uint64_t ServerAccess::bytes_received(const Server& server) {
  const serve_internal::ServerImpl& impl = *server.impl_;
  return impl.main_loop->bytes_received() + (impl.cdn_loop ? impl.cdn_loop->bytes_received() : 0);
}

std::uint64_t ServerAccess::paths_examined(const Server& server) {
  std::uint64_t n = 0;
  for (const auto& entry : server.impl_->repos) n += entry.second->paths_examined();
  return n;
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
    if (impl_->main_loop) impl_->main_loop->stop();
    if (impl_->cdn_loop) impl_->cdn_loop->stop();
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
