// `hubload serve`: serve a Hub cache and/or model folders as a read-only,
// Hub-compatible endpoint (HF_ENDPOINT) until SIGTERM or SIGINT.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "cli/command.h"
#include "hubload/serve.h"
#include "serve/server_testing.h"  // --test-mode: the stats endpoint is not public API

namespace hubload::cli {
namespace {

struct ServeArgs {
  std::string cache;
  std::vector<std::string> models, datasets, gated, renames, faults;
  std::string host = "127.0.0.1";
  int port = 0;
  int cdn_port = 0;
  bool cdn = false;
  std::string port_file;
  int threads = 16;
  std::string limit_rate = "0";
  std::string max_rate_total = "0";
  std::uint64_t lfs_threshold = 10 * 1024 * 1024;
  std::size_t page_size = 1000;
  bool test_mode = false;
  bool json = false;
  int max_connections_per_client = ServeOptions{}.max_connections_per_client;
  std::string follow_symlinks = "inside";
};

// "ID=VALUE" -> (ID, VALUE)
Result<std::pair<std::string, std::string>> split_pair(const std::string& s, const char* option) {
  std::size_t eq = s.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == s.size()) {
    return invalid_input(std::string(option) + " expects ID=VALUE, got '" + s + "'");
  }
  return std::pair{s.substr(0, eq), s.substr(eq + 1)};
}

// "500000", "512k", "10m" (1024-based, as nginx's limit_rate).
Result<std::uint64_t> parse_rate(std::string_view option, const std::string& s) {
  std::uint64_t mult = 1;
  std::string digits = s;
  if (!digits.empty() && (digits.back() == 'k' || digits.back() == 'K')) mult = 1024, digits.pop_back();
  else if (!digits.empty() && (digits.back() == 'm' || digits.back() == 'M')) mult = 1024 * 1024, digits.pop_back();
  if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos || digits.size() > 12) {
    return invalid_input(std::string(option) + " expects bytes per second (e.g. 500000, 512k, 10m), got '" + s + "'");
  }
  return std::stoull(digits) * mult;
}

Result<ServeOptions> to_options(const ServeArgs& a) {
  ServeOptions o;
  o.host = a.host;
  o.port = a.port;
  o.cache_dir = a.cache;
  o.cdn = a.cdn || a.cdn_port != 0;
  o.cdn_port = a.cdn_port;
  o.threads = a.threads;
  o.tree_page_size = a.page_size;
  o.lfs_threshold = a.lfs_threshold;
  o.max_connections_per_client = a.max_connections_per_client;
  o.follow_symlinks = a.follow_symlinks == "any" ? SymlinkPolicy::any : SymlinkPolicy::inside;
  for (const auto* list : {&a.models, &a.datasets}) {
    for (const std::string& s : *list) {
      HUBLOAD_ASSIGN_OR_RETURN(auto kv, split_pair(s, list == &a.models ? "--repo" : "--dataset"));
      o.folders.push_back({kv.first, list == &a.models ? RepoType::model : RepoType::dataset, kv.second});
    }
  }
  for (const std::string& s : a.gated) {
    HUBLOAD_ASSIGN_OR_RETURN(auto kv, split_pair(s, "--gated"));
    o.gated[kv.first] = kv.second;
  }
  for (const std::string& s : a.renames) {
    HUBLOAD_ASSIGN_OR_RETURN(auto kv, split_pair(s, "--rename"));
    o.renamed[kv.first] = kv.second;
  }
  HUBLOAD_ASSIGN_OR_RETURN(o.faults.limit_rate, parse_rate("--limit-rate", a.limit_rate));
  HUBLOAD_ASSIGN_OR_RETURN(o.max_rate_total, parse_rate("--max-rate-total", a.max_rate_total));
  for (const std::string& s : a.faults) {
    HUBLOAD_ASSIGN_OR_RETURN(FaultRule rule, parse_fault_rule(s));
    o.faults.rules.push_back(std::move(rule));
  }
  return o;
}

Status write_port_file(const std::string& path, int port) {
  // Written whole, then renamed, so a script polling for it never reads a partial number.
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << port << "\n";
    if (!out) return io_error("cannot write port file " + tmp);
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return errno_error(path, ec.value());
  return ok();
}

Result<int> run_serve(const ServeArgs& args) {
  HUBLOAD_ASSIGN_OR_RETURN(ServeOptions options, to_options(args));
  // Block the stop signals before any server thread exists, so all threads inherit
  // the mask and only sigwait() below receives them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  HUBLOAD_ASSIGN_OR_RETURN(auto server, serve_internal::ServerAccess::start(std::move(options), args.test_mode));
  Server& s = *server;
  if (args.json) {
    nlohmann::json j{{"url", s.url()}, {"port", s.port()}};
    if (s.cdn_port() != 0) j["cdn_url"] = s.cdn_url(), j["cdn_port"] = s.cdn_port();
    std::cout << j.dump() << std::endl;
  } else {
    std::cout << "listening on " << s.url() << std::endl;
    if (s.cdn_port() != 0) std::cout << "cdn listening on " << s.cdn_url() << std::endl;
  }
  if (!args.port_file.empty()) HUBLOAD_TRY(write_port_file(args.port_file, s.port()));
  int sig = 0;
  sigwait(&stop_signals, &sig);
  s.stop();
  ServeStats stats = s.stats();
  std::uint64_t requests = 0;
  for (const auto& [key, n] : stats.requests) requests += n;
  std::cerr << "hubload serve: stopped after " << requests << " requests, " << format_bytes(stats.bytes_sent)
            << " of file bodies sent\n";
  return 0;
}

void declare_serve(CLI::App* s, ServeArgs& args) {
  s->description("Serve a Hub cache and/or model folders as a read-only Hugging Face Hub endpoint");
  s->footer(
      "Point clients at it with HF_ENDPOINT=<printed URL>. Binds 127.0.0.1 unless --host says\n"
      "otherwise; --port 0 (default) picks a free port. Stops on SIGTERM/SIGINT.\n"
      "Faults (--inject-fault, repeatable; for tests and benchmarks):\n"
      "  drop:BYTES            close the connection after BYTES body bytes\n"
      "  stall:SECONDS         pause the body (after=BYTES to pause later)\n"
      "  status:CODE           answer 429 or a 5xx (retry=SECONDS sets Retry-After/RateLimit)\n"
      "  ignore-range          answer Range requests with 200 and the whole file\n"
      "  corrupt:OFFSET        flip the byte at that file offset\n"
      "  options: ,path=GLOB (request or repo file path) ,prob=P ,first=K\n"
      "  e.g. --inject-fault 'status:503,first=2' --inject-fault 'drop:1000,path=*.safetensors'");
  s->add_option("--cache", args.cache, "Hub cache directory to serve (models--org--name/...)");
  s->add_option("--repo", args.models, "Serve a model folder: ORG/NAME=DIR (repeatable)");
  s->add_option("--dataset", args.datasets, "Serve a dataset folder: ORG/NAME=DIR (repeatable)");
  s->add_option("--host", args.host, "Address to bind (default 127.0.0.1)");
  s->add_option("--port", args.port, "Port (0 = pick a free one)")->check(CLI::Range(0, 65535));
  s->add_option("--port-file", args.port_file, "Write the chosen port to this file");
  s->add_flag("--cdn", args.cdn, "Redirect LFS files (302) to a second listener, like the Hub's CDN");
  s->add_option("--cdn-port", args.cdn_port, "Port of the CDN listener (implies --cdn)")
      ->check(CLI::Range(0, 65535));
  s->add_option("--threads", args.threads,
                "Worker threads per listener = requests answered at once (default 16; idle connections hold none)");
  s->add_option("--max-connections-per-client", args.max_connections_per_client,
                "Open connections allowed per client IP address; more are answered 503 (default 256)")
      ->check(CLI::Range(1, 1000000));
  s->add_option("--follow-symlinks", args.follow_symlinks,
                "Serve symlinked files whose target is 'inside' the folder or the cache (default), or 'any'")
      ->check(CLI::IsMember({"inside", "any"}));
  s->add_option("--gated", args.gated, "Make a repo gated: ORG/NAME=TOKEN (repeatable; test use)");
  s->add_option("--rename", args.renames, "Answer OLD/ID with a 307 to NEW/ID: OLD=NEW (repeatable)");
  s->add_option("--limit-rate", args.limit_rate, "Body bytes per second per response (512k, 10m)");
  s->add_option("--max-rate-total", args.max_rate_total,
                "Body bytes per second over all responses together (512k, 10m): one shared egress");
  s->add_option("--inject-fault", args.faults, "Inject a fault (see below; repeatable)");
  s->add_option("--lfs-threshold", args.lfs_threshold, "Folder files above this size are LFS files");
  s->add_option("--tree-page-size", args.page_size, "Entries per tree API page")->check(CLI::Range(1, 1000000));
  s->add_flag("--test-mode", args.test_mode, "Enable GET /_hubload/stats");
  s->add_flag("--json", args.json, "Print the listening URL as one JSON line");
}

}  // namespace

Command add_serve_command(CLI::App& app) { return define_command(app, "serve", declare_serve, run_serve); }

}  // namespace hubload::cli
