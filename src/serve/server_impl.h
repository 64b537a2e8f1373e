// The private state of a running Server and the handlers that share it. The
// handlers live in small files by endpoint: api.cpp (repo info, tree, refs,
// paths-info), resolve.cpp (HEAD/GET /resolve and the CDN listener),
// server.cpp (lifecycle, routing, auth, renames, stats, and server_testing.h's
// ServerAccess, the only way to switch the stats endpoint on). Connections are
// accepted and read by connection_loop.h.
#pragma once

#include <httplib.h>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "hubload/serve.h"
#include "hubload/faults.h"
#include "serve/body.h"
#include "serve/connection_loop.h"
#include "serve/hash.h"
#include "serve/repo_source.h"
#include "serve/route.h"
#include "util/digest.h"

namespace hubload::serve_internal {

class ServerImpl {
 public:
  ServerImpl(ServeOptions o, bool with_stats_endpoint)
      : opts(std::move(o)), stats_endpoint(with_stats_endpoint), faults(opts.faults) {
    if (opts.max_rate_total > 0) total_rate = std::make_unique<TotalRate>(opts.max_rate_total);
  }

  // Constant after start().
  ServeOptions opts;
  bool stats_endpoint;  // GET /_hubload/stats (server_testing.h)
  std::map<std::string, std::unique_ptr<RepoSource>> repos;  // repo_key -> source
  std::string cdn_secret;  // signs CDN URLs so the CDN serves only what /resolve handed out
  int port = 0;
  int cdn_port = 0;

  HashCache hashes;
  FaultInjector faults;
  Sleeper sleeper;
  std::unique_ptr<TotalRate> total_rate;  // null: no total limit
  RequestServer main;  // the handlers; main_loop owns the sockets
  RequestServer cdn;
  std::unique_ptr<ConnectionLoop> main_loop;
  std::unique_ptr<ConnectionLoop> cdn_loop;
  std::once_flag stopped;

  mutable std::mutex stats_mu;
  ServeStats stats;  // guarded by stats_mu, except the two atomics below
  std::atomic<std::uint64_t> bytes_sent{0};
  std::atomic<std::uint64_t> cdn_authorized_requests{0};  // must stay 0: clients drop the token on redirect

  BodyCounters counters() { return {&bytes_sent, &sleeper, total_rate.get()}; }
  void record(const httplib::Request& req, bool on_cdn);
  RepoSource* find_repo(const std::string& key);  // nullptr when not served
  std::string host_for_links(const httplib::Request& req) const;

  // What needs no repo content: bad or unknown paths, injected status faults (when
  // `inject_faults`), renames, unknown repos and the gate. Returns the repo when the
  // request may go on, nullptr when `res` holds the answer.
  RepoSource* admit(const httplib::Request& req, httplib::Response& res, const Route& r, bool inject_faults);
  // The connection loop's BodyCheck for the main listener: a body is read only for
  // a request that admit() lets through, on POST.
  std::optional<httplib::Response> check_body(const RequestHead& head);
  void handle_main(const httplib::Request& req, httplib::Response& res);
  void handle_cdn(const httplib::Request& req, httplib::Response& res);
  void handle_resolve(const httplib::Request& req, httplib::Response& res, const Route& r, RepoSource& repo);
  void handle_repo_info(const httplib::Request& req, httplib::Response& res, const Route& r, RepoSource& repo);
  void handle_tree(const httplib::Request& req, httplib::Response& res, const Route& r, RepoSource& repo);
  void handle_refs(const httplib::Request& req, httplib::Response& res, const Route& r, RepoSource& repo);
  void handle_paths_info(const httplib::Request& req, httplib::Response& res, const Route& r, RepoSource& repo);
  void handle_stats(httplib::Response& res);
};

// "model:org/name": how repos are keyed, and what a CDN URL names.
std::string repo_key(RepoType type, std::string_view repo_id);

// An error answer: status, X-Error-Code (when not empty), X-Error-Message and {"error": message}.
void send_error(httplib::Response& res, int status, std::string_view code, std::string_view message);
void send_json(httplib::Response& res, const std::string& body);
// The route's revision and its files, current for the route's path alone when
// `one_path` (a file's request) or as a whole, or nullopt with the error answered
// (404 RevisionNotFound, or 500 naming what failed).
std::optional<Revision> revision_or_error(httplib::Response& res, const Route& r, RepoSource& repo,
                                          bool one_path);

// "True", "true" and "1" (any case) are true (hub-protocol.md §1.2).
bool truthy(const httplib::Request& req, const std::string& param);
// The fault answer (5xx/429 with Retry-After and the Hub's RateLimit headers).
void send_fault_status(httplib::Response& res, const FaultRule& rule);

}  // namespace hubload::serve_internal
