// hubload load MODEL --tp W --rank R: read one rank's bytes, report speed and digests.
#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <iostream>
#include <memory>

#include "cli/load_progress.h"
#include "cli/tp_options.h"
#include "hubload/load.h"
#include "util/digest.h"

namespace hubload::cli {

namespace {

struct LoadCli {
  TpCliOptions tp;
  int rank = 0;
  int threads = 4;
  bool mmap = false;
  bool no_io_uring = false;
  bool quiet = false;
  std::string dtype;
  std::string out;  // write the rank's tensors here as one safetensors file
};

// The loaded rank as a safetensors file (the library's writer), e.g. for an
// independent re-assembly check of the ranks (scripts/check-reassembly.py).
Status write_rank_file(const std::string& path, const LoadedRank& loaded) {
  std::vector<TensorData> tensors;
  tensors.reserve(loaded.tensors.size());
  for (const LoadedTensor& t : loaded.tensors) tensors.push_back({{t.name, t.dtype, t.shape}, t.bytes});
  return write_safetensors(path, tensors);
}

int run_load(const LoadCli& o) {
  std::string folder;
  Result<ShardPlan> plan = plan_from_cli(o.tp, folder);
  if (!plan) return report_error(plan.error(), o.tp.json);
  Result<RankPlan> rank = rank_plan(*plan, o.rank);
  if (!rank) return report_error(rank.error(), o.tp.json);
  LoadOptions options;
  options.io_threads = o.threads;
  options.method = o.mmap ? ReadMethod::mmap : ReadMethod::pread;
  options.io_uring = !o.no_io_uring;
  if (!o.dtype.empty()) options.convert_to = o.dtype == "bf16" ? DType::BF16 : o.dtype == "f16" ? DType::F16 : DType::F32;
  // A progress line on stderr, only for a person watching a terminal.
  std::shared_ptr<LoadProgressLine> line;
  if (!o.quiet && !o.tp.json && ::isatty(2)) {
    line = std::make_shared<LoadProgressLine>(o.tp.tp);
    options.progress = [line, start = std::chrono::steady_clock::now()](const LoadProgress& p) {
      const double now = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::cerr << line->update(p, now) << std::flush;
      return true;
    };
  }
  Result<RankLoader> loader = RankLoader::create(folder, options);
  if (!loader) return report_error(loader.error(), o.tp.json);
  Result<LoadedRank> loaded = loader->load(*rank);
  if (line) std::cerr << line->clear() << std::flush;
  if (!loaded) return report_error(loaded.error(), o.tp.json);
  if (!o.out.empty()) {
    if (Status written = write_rank_file(o.out, *loaded); !written) return report_error(written.error(), o.tp.json);
  }

  double gbps = loaded->seconds > 0 ? static_cast<double>(loaded->bytes_read) / loaded->seconds / 1e9 : 0;
  if (o.tp.json) {
    nlohmann::json tensors = nlohmann::json::array();
    for (const LoadedTensor& t : loaded->tensors)
      tensors.push_back({{"name", t.name}, {"dtype", std::string(to_string(t.dtype))}, {"shape", t.shape},
                         {"bytes", t.bytes.size()}, {"sha256", util_internal::sha256_hex(t.bytes)}});
    print_json({{"rank", o.rank}, {"world_size", o.tp.tp}, {"method", o.mmap ? "mmap" : "pread"},
                {"threads", o.threads}, {"bytes_read", loaded->bytes_read},
                {"bytes_planned", loaded->bytes_planned}, {"bytes_out", loaded->bytes_out},
                {"read_calls", loaded->read_calls}, {"uring_reads", loaded->uring_reads},
                {"seconds", loaded->seconds}, {"gb_per_s", gbps}, {"tensors", tensors}});
    return 0;
  }
  for (const LoadedTensor& t : loaded->tensors)
    std::cout << fmt::format("{:<60} {:<5} [{}] {}\n", t.name, to_string(t.dtype), fmt::join(t.shape, ", "),
                             util_internal::sha256_hex(t.bytes));
  std::cout << fmt::format(
      "rank {}/{}: read {} in {:.3f} s ({:.2f} GB/s, {} reads ({} through io_uring), {} tensors, {} in memory)\n",
      o.rank, o.tp.tp, format_bytes(loaded->bytes_read), loaded->seconds, gbps, loaded->read_calls,
      loaded->uring_reads, loaded->tensors.size(), format_bytes(loaded->bytes_out));
  return 0;
}

}  // namespace

Command add_load_command(CLI::App& app) {
  auto o = std::make_shared<LoadCli>();
  Command c;
  c.app = app.add_subcommand("load",
                             "Load one tensor-parallel rank's slices of a model into memory, reading only that "
                             "rank's bytes; prints bytes read, time, throughput and a SHA-256 per tensor.");
  add_tp_options(c.app, o->tp);
  c.app->add_option("--rank", o->rank, "The rank to load (0 <= R < W)")->required();
  c.app->add_option("--threads", o->threads, "I/O threads")->check(CLI::PositiveNumber);
  c.app->add_flag("--mmap", o->mmap, "Copy out of a memory mapping instead of pread");
  c.app->add_flag("--no-io-uring", o->no_io_uring,
                  "One pread per read instead of batches through io_uring (used where the kernel allows)");
  c.app->add_option("--dtype", o->dtype, "Convert float tensors while loading")
      ->check(CLI::IsMember({"bf16", "f16", "f32"}));
  c.app->add_option("--out", o->out, "Also write the rank's tensors to this safetensors file");
  c.app->add_flag("--quiet", o->quiet, "No progress line (drawn on stderr only when it is a terminal)");
  c.run = [o] { return run_load(*o); };
  return c;
}

}  // namespace hubload::cli
