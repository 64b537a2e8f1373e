// hubload download MODEL: fetch a model (or a filtered repo) into the Hub cache,
// printing the snapshot path last on stdout.
#include <fmt/format.h>

#include <unistd.h>

#include <chrono>
#include <iostream>
#include <map>
#include <mutex>

#include "cli/command.h"
#include "cli/hub_flags.h"
#include "cli/mpi_mode.h"
#include "cli/progress_render.h"
#include "hubload/hub.h"

namespace hubload::cli {
namespace {

struct DownloadArgs {
  std::string model;
  HubFlags hub;
  std::vector<std::string> include;
  std::vector<std::string> exclude;
  bool local_files_only = false;
  bool skip_weights = false;
  bool with_tokenizer = false;
  bool with_generation_config = false;
  std::string repo_type = "model";
  int workers = 8;
  int connections = TransferOptions{}.connections;
  // CDNs pace each connection at about 50 MB/s: 16 of them are what a fast link
  // needs (bench/RESULTS.md, "Adaptive connections").
  int max_connections = 16;
  bool quiet = false;
  std::string progress = "auto";  // tty, json, none; auto = tty on a terminal
  bool json = false;
};

// Draws the Hub's per-file progress on stderr. Files report from several worker
// threads, so one mutex serialises drawing; redraws are capped at 10 per second.
class ProgressPrinter {
 public:
  explicit ProgressPrinter(bool json) : json_(json), start_(std::chrono::steady_clock::now()) {}

  void on_file(const FileProgress& p) {
    std::lock_guard lock(mu_);
    auto [it, fresh] = files_.try_emplace(p.path, Seen{files_.size(), 0, p.bytes_total});
    std::uint64_t delta = p.bytes_done >= it->second.done ? p.bytes_done - it->second.done : 0;
    it->second.done = p.bytes_done;
    it->second.size = p.bytes_total;
    received_ += delta;
    TransferEvent e;
    e.kind = fresh ? TransferEventKind::start
                   : p.bytes_done == p.bytes_total ? TransferEventKind::done : TransferEventKind::progress;
    e.file_index = it->second.index;
    e.name = p.path;
    e.file_bytes = p.bytes_done;
    e.file_size = p.bytes_total;
    for (const auto& [name, f] : files_) {
      e.total_bytes += f.done;
      e.total_size += f.size;
    }
    e.bytes_received = received_;
    e.connection_limit = p.connections;
    auto now = std::chrono::steady_clock::now();
    double t = std::chrono::duration<double>(now - start_).count();
    if (json_) {
      if (e.kind != TransferEventKind::progress || now - last_draw_ >= std::chrono::milliseconds(100)) {
        std::cerr << json_progress_line(e) << std::flush;
        last_draw_ = now;
      }
      return;
    }
    tty_.update(e, t);
    if (e.kind != TransferEventKind::progress || now - last_draw_ >= std::chrono::milliseconds(100)) {
      std::cerr << tty_.frame() << std::flush;
      last_draw_ = now;
    }
  }

  // Under mpirun, rank 0 draws the whole job instead of its own files.
  void on_job(const nlohmann::json& job) {
    std::lock_guard lock(mu_);
    if (json_) {
      std::cerr << nlohmann::json{{"job", job}}.dump() << "\n" << std::flush;
      return;
    }
    std::cerr << fmt::format("\r\33[2Kjob: Hub {} of {}, between nodes {} of {}",
                             format_bytes(job["hub_bytes"]), format_bytes(job["hub_total"]),
                             format_bytes(job["fabric_bytes"]), format_bytes(job["fabric_total"]))
              << std::flush;
    job_line_ = true;
  }

  void finish() {
    std::lock_guard lock(mu_);
    if (!json_) std::cerr << (job_line_ ? std::string("\r\33[2K") : tty_.clear()) << std::flush;
  }

 private:
  struct Seen {
    std::size_t index;
    std::uint64_t done, size;
  };
  std::mutex mu_;
  bool json_;
  TtyProgress tty_;
  std::map<std::string, Seen> files_;
  std::uint64_t received_ = 0;
  bool job_line_ = false;
  std::chrono::steady_clock::time_point start_, last_draw_{};
};

Result<int> run_download(const DownloadArgs& args) {
  DownloadOptions options;
  options.hub = hub_options(args.hub);
  HubOptions& hub = options.hub;
  HUBLOAD_ASSIGN_OR_RETURN(hub.repo_type, parse_repo_type(args.repo_type));
  hub.local_files_only = args.local_files_only;
  std::vector<std::string> warnings;
  hub.on_warning = [&](std::string_view w) { warnings.emplace_back(w); };
  options.allow_patterns = args.include;
  options.ignore_patterns = args.exclude;
  options.skip_download_weights = args.skip_weights;
  options.include_tokenizer = args.with_tokenizer;
  options.include_generation_config = args.with_generation_config;
  options.max_workers = args.workers;
  hub.transfer.connections = args.connections;
  hub.transfer.max_connections = args.max_connections;
  std::string mode = args.quiet ? "none" : args.progress;
  if (mode == "auto") mode = ::isatty(2) && !args.json ? "tty" : "none";
  std::unique_ptr<ProgressPrinter> printer;
  MpiJob job;
  if (mode == "tty" || mode == "json") {
    printer = std::make_unique<ProgressPrinter>(mode == "json");
    if (under_mpirun()) job.on_progress = [p = printer.get()](const nlohmann::json& j) { p->on_job(j); };
    else hub.on_progress = [p = printer.get()](const FileProgress& f) { p->on_file(f); };
  }

  Result<DownloadResult> result =
      under_mpirun() ? mpi_download(args.model, options, job) : download_model(args.model, options);
  if (printer) printer->finish();
  if (!result) return std::move(result).error();
  if (!job.prints) return 0;
  if (!args.json) print_warnings(warnings);
  if (args.json) {
    nlohmann::json doc = {{"path", result->snapshot.string()},
                          {"commit", result->commit},
                          {"files", result->files},
                          {"local_folder", result->local_folder},
                          {"from_cache", result->from_cache},
                          {"connections", result->connections},
                          {"warnings", warnings}};
    if (result->network_failure) doc["network_error"] = result->network_failure->to_string();
    if (!job.info.is_null()) doc["distributed"] = job.info;
    print_json(doc);
    return 0;
  }
  std::cout << result->snapshot.string() << std::endl;
  return 0;
}

void declare_download(CLI::App* cmd, DownloadArgs& args) {
  cmd->description("Download a model from the Hugging Face Hub (or a mirror) into the Hub cache shared with Python's "
                   "huggingface_hub, and print the snapshot folder. Without --include: config.json, the weight index and "
                   "exactly the shards it names (safetensors preferred over .bin). With --include: exactly the matching files "
                   "(--include '*' for the whole repo). Honours HF_HOME, HF_HUB_CACHE, HF_ENDPOINT, HF_HUB_OFFLINE, HF_TOKEN.");
  cmd->add_option("model", args.model, "Repo id (org/name) or an existing local folder")->required();
  add_hub_flags(cmd, args.hub);
  cmd->add_option("--include", args.include, "fnmatch pattern of repo files to download ('*' crosses '/'); repeatable");
  cmd->add_option("--exclude", args.exclude, "fnmatch pattern of repo files to skip; repeatable");
  cmd->add_flag("--local-files-only", args.local_files_only, "Use the cache only; no network access at all");
  cmd->add_flag("--skip-weights", args.skip_weights, "Only config.json and the weight index, no weights");
  cmd->add_flag("--with-tokenizer", args.with_tokenizer, "Also fetch the tokenizer files");
  cmd->add_flag("--with-generation-config", args.with_generation_config, "Also fetch generation_config.json");
  cmd->add_option("--repo-type", args.repo_type, "model, dataset or space")->capture_default_str();
  cmd->add_option("--workers", args.workers, "Files downloaded in parallel")->capture_default_str();
  cmd->add_option("--connections", args.connections,
                  "Parallel byte-range connections the download starts with, shared by all its files "
                  "(resumable, hash-verified transfer)")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  cmd->add_option("--max-connections", args.max_connections,
                  "Connections the download may grow to while its total rate still rises with them; "
                  "it sheds them where the rate does not, or on 429/503. At most --connections: a fixed count")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  cmd->add_flag("--quiet", args.quiet, "No progress output");
  cmd->add_option("--progress", args.progress,
                  "Progress on stderr: tty (redrawn lines), json (one object per line), none; "
                  "default tty on a terminal")
      ->check(CLI::IsMember({"auto", "tty", "json", "none"}));
  cmd->add_flag("--json", args.json, "Print a JSON document instead of the path");
}

}  // namespace

Command add_download_command(CLI::App& app) { return define_command(app, "download", declare_download, run_download); }

}  // namespace hubload::cli
