// The private state of a running Server and the handlers that share it. The
// handlers live in small files by endpoint: api.cpp (repo info, tree, refs,
// paths-info), resolve.cpp (HEAD/GET /resolve and the CDN listener),
// server.cpp (lifecycle, routing, auth, renames, stats, and server_testing.h's
// ServerAccess, the only way to switch the stats endpoint on).
#pragma once

#include <httplib.h>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "hubload/serve.h"
#include "serve/body.h"
#include "serve/faults.h"
#include "serve/hash.h"
#include "serve/repo_source.h"
#include "serve/route.h"
#include "util/digest.h"

namespace hubload::serve_internal {

class ServerImpl {
 public:
  ServerImpl(ServeOptions o, bool with_stats_endpoint)
      : opts(std::move(o)), stats_endpoint(with_stats_endpoint), faults(opts.faults) {}

  // Constant after start().
  ServeOptions opts;
  bool stats_endpoint;  // GET /_hubload/stats (server_testing.h)
  std::map<std::string, std::unique_ptr<RepoSource>> repos;  // repo_key -> source
  std::string cdn_secret;  // signs CDN URLs so the CDN serves only what /resolve handed out
  int port = 0;
  int cdn_port = 0;

  HashCache hashes;
  serve::FaultInjector faults;
  Sleeper sleeper;
  httplib::Server main;
  httplib::Server cdn;
  std::thread main_thread;
  std::thread cdn_thread;
  std::once_flag stopped;

  mutable std::mutex stats_mu;
  ServeStats stats;  // guarded by stats_mu, except the two atomics below
  std::atomic<std::uint64_t> bytes_sent{0};
  std::atomic<std::uint64_t> cdn_authorized_requests{0};  // must stay 0: clients drop the token on redirect

  BodyCounters counters() { return {&bytes_sent, &sleeper}; }
  void record(const httplib::Request& req, bool on_cdn);
  RepoSource* find_repo(const std::string& key);  // nullptr when not served
  std::string host_for_links(const httplib::Request& req) const;

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
// "True", "true" and "1" (any case) are true (hub-protocol.md §1.2).
bool truthy(const httplib::Request& req, const std::string& param);
// The fault answer (5xx/429 with Retry-After and the Hub's RateLimit headers).
void send_fault_status(httplib::Response& res, const serve::FaultRule& rule);

}  // namespace hubload::serve_internal
