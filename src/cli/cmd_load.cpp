// hubload load MODEL --tp W --rank R: read one rank's bytes, report speed and digests.
#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <iostream>
#include <memory>

#include "cli/hub_flags.h"
#include "cli/load_progress.h"
#include "cli/mpi_mode.h"
#include "cli/tp_options.h"
#include "hubload/load.h"
#include "util/digest.h"

namespace hubload::cli {

namespace {

struct LoadArgs : TpCliOptions {
  int rank = 0;
  int threads = 4;
  bool mmap = false;
  bool no_io_uring = false;
  bool no_map_short_reads = false;
  bool quiet = false;
  double max_read_amplification = LoadOptions{}.max_read_amplification;
  std::string direct = "auto";
  std::string dtype;
  std::string out;  // write the rank's tensors here as one safetensors file
  bool scatter = false;
};

// The loaded rank as a safetensors file (the library's writer), e.g. for an
// independent re-assembly check of the ranks (scripts/check-reassembly.py).
Status write_rank_file(const std::string& path, const LoadedRank& loaded) {
  std::vector<TensorData> tensors;
  tensors.reserve(loaded.tensors.size());
  for (const LoadedTensor& t : loaded.tensors) tensors.push_back({{t.name, t.dtype, t.shape}, t.bytes});
  return write_safetensors(path, tensors);
}

Result<LoadedRank> load_rank(const std::string& folder, const ShardPlan& plan, const LoadOptions& options, int rank) {
  HUBLOAD_ASSIGN_OR_RETURN(RankPlan rank_bytes, rank_plan(plan, rank));
  HUBLOAD_ASSIGN_OR_RETURN(RankLoader loader, RankLoader::create(folder, options));
  return loader.load(rank_bytes);
}

// --out under mpirun: "{rank}" becomes the world rank (replicas of one TP rank
// must not share a file), else ".<world rank>" is appended.
std::string rank_file_name(std::string out, const MpiJob& job) {
  if (!under_mpirun()) return out;
  const std::size_t at = out.find("{rank}");
  if (at != std::string::npos) out.replace(at, 6, std::to_string(job.rank));
  else if (job.world > 1) out += "." + std::to_string(job.rank);
  return out;
}

void declare_load(CLI::App* cmd, LoadArgs& args) {
  cmd->description("Load one tensor-parallel rank's slices of a model into memory, reading only that "
                   "rank's bytes; prints bytes read, time, throughput and a SHA-256 per tensor.");
  add_tp_options(cmd, args);
  auto* rank = cmd->add_option("--rank", args.rank, "The rank to load (0 <= R < W); under mpirun, world rank % W");
  if (!under_mpirun()) rank->required();
  cmd->add_option("--threads", args.threads, "I/O threads")->check(CLI::PositiveNumber);
  cmd->add_flag("--mmap", args.mmap, "Copy out of a memory mapping instead of pread");
  cmd->add_flag("--no-io-uring", args.no_io_uring,
                "One pread per read instead of batches through io_uring (used where the kernel allows)");
  cmd->add_flag("--no-map-short-reads", args.no_map_short_reads,
                "Read every row; by default a cached file's many short rows (dim-1 slices at large W) are copied "
                "out of a memory mapping held under a read lease, which keeps the file from being truncated");
  cmd->add_option("--max-read-amplification", args.max_read_amplification,
                  "Read at most this multiple of the rank's share; more lets small strided rows be read as "
                  "covering ranges (fewer reads, more bytes; the world size covers them all)")
      ->check(CLI::Range(1.0, 1e9));
  cmd->add_option("--direct", args.direct,
                  "O_DIRECT reads bypassing the page cache: auto (when the file is not cached), on, off")
      ->check(CLI::IsMember({"auto", "on", "off"}));
  cmd->add_option("--dtype", args.dtype, "Convert float tensors while loading")
      ->check(CLI::IsMember({"bf16", "f16", "f32"}));
  cmd->add_option("--out", args.out,
                  "Also write the rank's tensors to this safetensors file (under mpirun, {rank} is the world rank)");
  cmd->add_flag("--scatter", args.scatter,
                "Under mpirun: one reader per node reads each file once into shared memory; every rank copies "
                "its share out of it, and ranks on nodes without the model get theirs by message");
  cmd->add_flag("--quiet", args.quiet, "No progress line (drawn on stderr only when it is a terminal)");
}

Result<int> run_load(const LoadArgs& o) {
  if (o.scatter && !under_mpirun()) return invalid_input("--scatter shares one reader between the ranks of an mpirun job");
  LoadOptions options;
  options.io_threads = o.threads;
  options.method = o.mmap ? ReadMethod::mmap : ReadMethod::pread;
  options.io_uring = !o.no_io_uring;
  options.map_short_reads = !o.no_map_short_reads;
  options.max_read_amplification = o.max_read_amplification;
  options.direct = o.direct == "on" ? DirectIo::on : o.direct == "off" ? DirectIo::off : DirectIo::automatic;
  if (!o.dtype.empty()) options.convert_to = o.dtype == "bf16" ? DType::BF16 : o.dtype == "f16" ? DType::F16 : DType::F32;
  // A progress line on stderr, only for a person watching a terminal.
  std::shared_ptr<LoadProgressLine> line;
  if (!o.quiet && !o.json && ::isatty(2)) {
    line = std::make_shared<LoadProgressLine>(o.tp);
    options.progress = [line, start = std::chrono::steady_clock::now()](const LoadProgress& p) {
      const double now = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::cerr << line->update(p, now) << std::flush;
      return true;
    };
  }
  int rank = o.rank;
  MpiJob job;
  Result<LoadedRank> loaded = [&]() -> Result<LoadedRank> {
    if (o.scatter) {
      // A node without the model is no error yet: its ranks get their runs from a node that has it.
      HUBLOAD_ASSIGN_OR_RETURN(PlanOptions plan, plan_options_from_cli(o));
      return mpi_load_scattered(resolve_model_folder(o.model, hub_options(HubFlags{})), plan, options, rank, job);
    }
    std::string folder;
    HUBLOAD_ASSIGN_OR_RETURN(ShardPlan plan, plan_from_cli(o, folder));
    return under_mpirun() ? mpi_load(folder, plan, options, rank, job) : load_rank(folder, plan, options, rank);
  }();
  if (line) std::cerr << line->clear() << std::flush;
  if (!loaded) return std::move(loaded).error();
  if (!o.out.empty()) HUBLOAD_TRY(write_rank_file(rank_file_name(o.out, job), *loaded));

  double gbps = loaded->seconds > 0 ? static_cast<double>(loaded->bytes_read) / loaded->seconds / 1e9 : 0;
  if (o.json) {
    nlohmann::json tensors = nlohmann::json::array();
    for (const LoadedTensor& t : loaded->tensors)
      tensors.push_back({{"name", t.name}, {"dtype", std::string(to_string(t.dtype))}, {"shape", t.shape},
                         {"bytes", t.bytes.size()}, {"sha256", util_internal::sha256_hex(t.bytes)}});
    print_json({{"rank", rank}, {"world_size", o.tp}, {"method", o.mmap ? "mmap" : "pread"},
                {"threads", o.threads}, {"bytes_read", loaded->bytes_read},
                {"bytes_planned", loaded->bytes_planned}, {"bytes_out", loaded->bytes_out},
                {"read_calls", loaded->read_calls}, {"uring_reads", loaded->uring_reads},
                {"direct_reads", loaded->direct_reads},
                {"mapped_reads", loaded->mapped_reads}, {"covered_tensors", loaded->covered_tensors},
                {"seconds", loaded->seconds}, {"gb_per_s", gbps}, {"tensors", tensors}});
    return 0;
  }
  for (const LoadedTensor& t : loaded->tensors)
    std::cout << fmt::format("{:<60} {:<5} [{}] {}\n", t.name, to_string(t.dtype), fmt::join(t.shape, ", "),
                             util_internal::sha256_hex(t.bytes));
  std::cout << fmt::format(
      "rank {}/{}: read {} in {:.3f} s ({:.2f} GB/s, {} reads ({} through io_uring, {} from a leased mapping), "
      "{} tensors, {} in memory)\n",
      rank, o.tp, format_bytes(loaded->bytes_read), loaded->seconds, gbps, loaded->read_calls,
      loaded->uring_reads, loaded->mapped_reads, loaded->tensors.size(), format_bytes(loaded->bytes_out));
  return 0;
}

}  // namespace

Command add_load_command(CLI::App& app) { return define_command(app, "load", declare_load, run_load); }

}  // namespace hubload::cli
