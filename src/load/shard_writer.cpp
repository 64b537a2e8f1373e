// write_rank_shards: pre-sharded per-rank checkpoints (tensor-parallel.md §12).
// Each rank's tensors are read in batches of at most batch_bytes through the
// RankLoader and streamed into SafetensorsWriter parts, so memory stays bounded.
#include <fcntl.h>

#include <cerrno>
#include <filesystem>
#include <map>
#include <string>

#include "hubload/file.h"
#include "hubload/load.h"

namespace hubload {
namespace {

namespace fs = std::filesystem;

Status write_text(const std::string& path, const std::string& text) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd.valid()) return errno_error(path, errno);
  return write_all(fd.get(), std::as_bytes(std::span(text)), path);
}

// Config, generation config and tokenizer files travel with the shards, as
// vLLM's save script does; weights and the original index do not.
Status copy_side_files(const std::string& model_dir, const std::string& out_dir) {
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(model_dir, ec)) {
    if (!e.is_regular_file()) continue;
    std::string name = e.path().filename().string();
    std::string ext = e.path().extension().string();
    if (name == "model.safetensors.index.json") continue;
    if (ext != ".json" && ext != ".txt" && ext != ".model" && ext != ".tiktoken") continue;
    fs::copy_file(e.path(), fs::path(out_dir) / name, fs::copy_options::overwrite_existing, ec);
    if (ec) return io_error("copying " + e.path().string() + " to " + out_dir + ": " + ec.message());
  }
  if (ec) return io_error("listing " + model_dir + ": " + ec.message());
  return ok();
}

std::uint64_t loaded_bytes(const RankTensor& t, const LoadOptions& o) {
  DType to = loaded_dtype(t.dtype, o);
  return t.bytes / dtype_bits(t.dtype) * dtype_bits(to);
}

Status write_part(const RankLoader& loader, const RankPlan& rank, std::size_t first, std::size_t last,
                  const std::string& path, const ShardWriteOptions& options) {
  std::vector<TensorSpec> specs;
  for (std::size_t i = first; i < last; ++i) {
    const RankTensor& t = rank.tensors[i];
    specs.push_back({t.name, loaded_dtype(t.dtype, options.load), t.shape});
  }
  std::map<std::string, std::string> metadata = {{"format", "pt"},
                                                 {"tp_rank", std::to_string(rank.rank)},
                                                 {"tp_world_size", std::to_string(rank.world_size)}};
  HUBLOAD_ASSIGN_OR_RETURN(SafetensorsWriter writer, SafetensorsWriter::create(path, std::move(specs), metadata));
  for (std::size_t i = first; i < last;) {
    RankPlan batch;
    batch.rank = rank.rank;
    batch.world_size = rank.world_size;
    std::uint64_t bytes = 0;
    while (i < last && (batch.tensors.empty() || bytes + rank.tensors[i].bytes <= options.batch_bytes)) {
      bytes += rank.tensors[i].bytes;
      batch.tensors.push_back(rank.tensors[i++]);
    }
    HUBLOAD_ASSIGN_OR_RETURN(LoadedRank loaded, loader.load(batch));
    for (const LoadedTensor& t : loaded.tensors) HUBLOAD_TRY(writer.write(t.bytes));
  }
  return writer.finish();
}

}  // namespace

std::string rank_shard_name(int rank, int part) {
  return "model-rank-" + std::to_string(rank) + "-part-" + std::to_string(part) + ".safetensors";
}

Result<ShardWriteResult> write_rank_shards(const std::filesystem::path& model_path, const ShardPlan& plan,
                                           const ShardWriteOptions& options) {
  if (options.out_dir.empty()) return invalid_input("no output folder given for the rank shards");
  const std::string model_dir = model_path.string();
  const std::string out_dir = options.out_dir.string();
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  if (ec) return io_error("creating " + out_dir + ": " + ec.message());
  HUBLOAD_ASSIGN_OR_RETURN(RankLoader loader, RankLoader::create(model_dir, options.load));

  ShardWriteResult result;
  for (int r = 0; r < plan.world_size; ++r) {
    HUBLOAD_ASSIGN_OR_RETURN(RankPlan rank, rank_plan(plan, r));
    result.rank_files.emplace_back();
    // A new part starts when the next tensor would push this one past the limit.
    std::size_t first = 0;
    int part = 0;
    while (first < rank.tensors.size() || (first == 0 && part == 0)) {
      std::size_t last = first;
      std::uint64_t bytes = 0;
      while (last < rank.tensors.size()) {
        std::uint64_t b = loaded_bytes(rank.tensors[last], options.load);
        if (options.max_part_bytes && last > first && bytes + b > options.max_part_bytes) break;
        bytes += b;
        ++last;
      }
      std::string name = rank_shard_name(r, part++);
      HUBLOAD_TRY(write_part(loader, rank, first, last, out_dir + "/" + name, options));
      result.rank_files.back().push_back(name);
      result.bytes_written += bytes;
      first = last;
      if (rank.tensors.empty()) break;
    }
  }
  HUBLOAD_TRY(write_text(out_dir + "/tp-plan.json", plan_to_json(plan)));
  HUBLOAD_TRY(copy_side_files(model_dir, out_dir));
  return result;
}

}  // namespace hubload
