// Tensor-parallel rank loading on a generated ~4 GiB bf16 Llama-shaped checkpoint:
// rank 0 of W = 1, 2, 4, 8 with pread (io_uring batches, and one syscall a read)
// and mmap from the page cache, each beside a
// memcpy of the same bytes into a destination in the same state, in the
// same run (the same runs of the file, copied from a pre-faulted mapping to the
// same places in the arena), with as many threads as the loader's I/O threads:
//   - fresh: load() into its own new arena vs memcpy into a new HostBuffer (both pay
//     the destination's first-touch page faults);
//   - reused: load_into() an arena already written once vs memcpy into that arena.
// Loads and memcpys alternate, three of each, and the medians are reported.
// Also a naive baseline (read each whole tensor, then slice) and a cold read after
// evicting the file with posix_fadvise(DONTNEED) (drop_caches is not permitted
// here). Prints Markdown rows for bench/RESULTS.md.
//
// With --pread-only: the default pread load (direct off), the same with all
// default options (direct auto), with every row read (map_short_reads off), with every tensor on a 256-byte boundary instead
// of placed like its file offset, the default with no covering reads
// (max_read_amplification = 1) and with max_read_amplification = W (every strided tensor the cost model finds cheaper
// covered), against the same memcpy; no naive or mmap rows. Each row also gives
// the load average when it was measured (the machine may be shared).
//
// --world N measures that W only; --default-only keeps the default pread rows
// only: direct off (as all the others), all defaults (direct auto, which
// probes each file's residency first), and direct off with map_short_reads off
// (every row read, none copied out of a leased mapping). "reads" counts the
// loader's reads and copies, the copies out of a mapping in brackets.
//
//   load_bench --dir /tmp/hubload-tp-bench [--threads 2] [--keep] [--layers 5] [--vocab 128256] [--pread-only]
//              [--world N] [--default-only]
#include <fcntl.h>
#include <cstdlib>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <thread>

#include <fmt/format.h>

#include "hubload/file.h"
#include "hubload/load.h"
#include "hubload/plan.h"

using namespace hubload;

namespace {

constexpr std::uint64_t H = 4096, Hq = 32, Hkv = 8, D = 128, I = 14336;
std::uint64_t V = 128256, kLayers = 5;  // --vocab, --layers

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

void die(const Error& e) {
  std::cerr << "load_bench: " << e.to_string() << "\n";
  std::exit(1);
}
template <class T>
T must(Result<T> r) {
  if (!r) die(r.error());
  return std::move(r).value();
}
void must(Status s) {
  if (!s) die(s.error());
}

std::vector<TensorSpec> llama_specs() {
  std::vector<TensorSpec> s;
  auto add = [&](std::string n, std::vector<std::uint64_t> shape) { s.push_back({std::move(n), DType::BF16, shape}); };
  add("model.embed_tokens.weight", {V, H});
  for (std::uint64_t i = 0; i < kLayers; ++i) {
    std::string p = "model.layers." + std::to_string(i) + ".";
    add(p + "input_layernorm.weight", {H});
    add(p + "self_attn.q_proj.weight", {Hq * D, H});
    add(p + "self_attn.k_proj.weight", {Hkv * D, H});
    add(p + "self_attn.v_proj.weight", {Hkv * D, H});
    add(p + "self_attn.o_proj.weight", {H, Hq * D});
    add(p + "post_attention_layernorm.weight", {H});
    add(p + "mlp.gate_proj.weight", {I, H});
    add(p + "mlp.up_proj.weight", {I, H});
    add(p + "mlp.down_proj.weight", {H, I});
  }
  add("model.norm.weight", {H});
  add("lm_head.weight", {V, H});
  return s;
}

void generate(const std::string& dir) {
  std::filesystem::create_directories(dir);
  std::string config = fmt::format(
      R"({{"model_type": "llama", "architectures": ["LlamaForCausalLM"], "hidden_size": {}, "num_attention_heads": {},
 "num_key_value_heads": {}, "intermediate_size": {}, "vocab_size": {}, "num_hidden_layers": {},
 "max_position_embeddings": 8192, "tie_word_embeddings": false, "torch_dtype": "bfloat16"}})",
      H, Hq, Hkv, I, V, kLayers);
  UniqueFd fd(::open((dir + "/config.json").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644));
  must(write_all(fd.get(), std::as_bytes(std::span(config)), "config.json"));
  SafetensorsWriter w = must(SafetensorsWriter::create(dir + "/model.safetensors", llama_specs()));
  std::vector<std::uint64_t> block(4 << 20);
  std::uint64_t x = 0x9e3779b97f4a7c15ULL, left = w.data_bytes_expected();
  while (left > 0) {
    for (auto& v : block) v = (x = x * 6364136223846793005ULL + 1442695040888963407ULL);  // bf16 noise
    std::uint64_t n = std::min<std::uint64_t>(left, block.size() * 8);
    must(w.write(std::as_bytes(std::span(block)).first(n)));
    left -= n;
  }
  must(w.finish());
}

void evict(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY));
  ::fdatasync(fd.get());
  ::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_DONTNEED);
}

// Reads each whole tensor, then copies the rank's runs out of it: what a loader
// without byte-range planning does.
double naive(const std::string& dir, const ShardPlan& plan, const RankPlan& rank, std::uint64_t& bytes_read) {
  ReadFile f = must(ReadFile::open(dir + "/model.safetensors"));
  HostBuffer out = must(HostBuffer::allocate(rank.bytes_out()));
  std::vector<std::byte> whole;
  double t0 = now();
  bytes_read = 0;
  std::uint64_t dest = 0;
  for (const RankTensor& t : rank.tensors) {
    const TensorInfo* info = nullptr;
    for (const TensorPlan& tp : plan.tensors)
      if (tp.name == t.name) info = &tp.info;
    whole.resize(info->size);
    must(f.read_at(info->offset, whole));
    bytes_read += info->size;
    for (const ByteRun& r : t.runs)
      std::memcpy(out.data() + dest + r.dest_offset, whole.data() + (r.file_offset - info->offset), r.length);
    dest += t.bytes;
  }
  return now() - t0;
}

// A mapping of the checkpoint with every page touched, so that copying out of it
// costs what a memcpy costs and no page faults on the source side. It must be gone
// before the file is evicted (mapped pages stay in the page cache).
struct Source {
  MappedFile map;
  explicit Source(const std::string& path) : map(must(MappedFile::open(path))) {
    volatile std::uint8_t sink = 0;
    for (std::size_t i = 0; i < map.size(); i += 4096) sink = sink + static_cast<std::uint8_t>(map.bytes()[i]);
  }
};

// The baseline copies the same bytes the loader reads: each run of the rank plan,
// from its place in the file to its place in the arena (the loader's layout).
struct Copy {
  std::uint64_t from = 0, to = 0, length = 0;
};

std::vector<Copy> rank_copies(const RankPlan& rank, const LoadedRank& layout) {
  std::vector<Copy> copies;
  const std::byte* base = layout.tensors.empty() ? nullptr : layout.tensors[0].bytes.data();
  for (std::size_t t = 0; t < rank.tensors.size(); ++t) {
    auto at = static_cast<std::uint64_t>(layout.tensors[t].bytes.data() - base);
    for (const ByteRun& r : rank.tensors[t].runs) copies.push_back({r.file_offset, at + r.dest_offset, r.length});
  }
  return copies;
}

// Runs the copies into `dest` with `threads` threads, each taking a contiguous
// share of the list by bytes.
double memcpy_into(const Source& src, const std::vector<Copy>& copies, std::byte* dest, int threads) {
  std::uint64_t total = 0;
  for (const Copy& c : copies) total += c.length;
  std::vector<std::size_t> cuts{0};
  std::uint64_t acc = 0;
  for (std::size_t i = 0; i < copies.size(); ++i) {
    acc += copies[i].length;
    if (acc * static_cast<std::uint64_t>(threads) >= total * cuts.size() && cuts.size() < static_cast<std::size_t>(threads))
      cuts.push_back(i + 1);
  }
  cuts.push_back(copies.size());
  double t0 = now();
  {
    std::vector<std::jthread> pool;
    for (std::size_t k = 0; k + 1 < cuts.size(); ++k)
      pool.emplace_back([&, k] {
        for (std::size_t i = cuts[k]; i < cuts[k + 1]; ++i)
          std::memcpy(dest + copies[i].to, src.map.bytes().data() + copies[i].from, copies[i].length);
      });
  }
  return now() - t0;
}

double memcpy_fresh(const Source& src, const std::vector<Copy>& copies, std::uint64_t arena_bytes, int threads) {
  HostBuffer b = must(HostBuffer::allocate(arena_bytes));
  return memcpy_into(src, copies, b.data(), threads);
}

std::string first_line(const char* path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line.empty() ? "unknown" : line;
}

constexpr int kRepeats = 3;

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

double gbps(std::uint64_t bytes, double s) { return static_cast<double>(bytes) / s / 1e9; }

std::string load_average() {
  double l[1] = {0};
  ::getloadavg(l, 1);
  return fmt::format("{:.1f}", l[0]);
}

}  // namespace

int main(int argc, char** argv) {
  std::cout.setf(std::ios::unitbuf);  // rows appear as they are measured, even if the run is cut short
  std::string dir = "/tmp/hubload-tp-bench";
  int threads = 2;
  bool keep = false;
  bool pread_only = false, default_only = false;
  int only_world = 0;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--dir" && i + 1 < argc) dir = argv[++i];
    else if (a == "--threads" && i + 1 < argc) threads = std::stoi(argv[++i]);
    else if (a == "--keep") keep = true;
    else if (a == "--layers" && i + 1 < argc) kLayers = std::stoull(argv[++i]);
    else if (a == "--vocab" && i + 1 < argc) V = std::stoull(argv[++i]);
    else if (a == "--pread-only") pread_only = true;
    else if (a == "--default-only") pread_only = default_only = true;
    else if (a == "--world" && i + 1 < argc) only_world = std::stoi(argv[++i]);
  }
  double g0 = now();
  if (!std::filesystem::exists(dir + "/model.safetensors")) generate(dir);
  std::cout << fmt::format("checkpoint: {} bytes, generated/opened in {:.1f} s; io_threads {}; transparent huge pages: {}\n\n",
                           std::filesystem::file_size(dir + "/model.safetensors"), now() - g0, threads,
                           first_line("/sys/kernel/mm/transparent_hugepage/enabled"));
  // On a VM, guest memory never touched before costs the hypervisor's fault on top of
  // the kernel's first-touch fault: a fresh 2.3 GB arena on such memory took 1.4-2.4 s
  // instead of 0.22 s. Touching and freeing several arenas' worth first leaves "fresh"
  // rows with the kernel's cost only, as on a machine that has run for a while.
  {
    const std::uint64_t bytes = 3 * std::filesystem::file_size(dir + "/model.safetensors");
    HostBuffer warm = must(HostBuffer::allocate(bytes));
    std::memset(warm.data(), 1, warm.size());
  }
  std::cout << "| W | method | destination | rank 0 bytes out | bytes read | read / share | reads | time s | GB/s | "
               "memcpy GB/s | vs memcpy | load avg |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n";
  for (int w : {1, 2, 4, 8}) {
    if (only_world != 0 && w != only_world) continue;
    PlanOptions po;
    po.world_size = w;
    ShardPlan plan = must(plan_model_folder(dir, po));
    RankPlan rank = must(rank_plan(plan, 0));
    std::optional<Source> source;
    source.emplace(dir + "/model.safetensors");
    auto row = [&](const char* method, const char* destination, const LoadedRank& l, double seconds, double mc) {
      std::cout << fmt::format("| {} | {} | {} | {} | {} | {:.3f} | {} | {:.3f} | {:.2f} | {:.2f} | {:.2f} | {} |\n", w, method,
                               destination, l.bytes_out, l.bytes_read,
                               static_cast<double>(l.bytes_read) / static_cast<double>(l.bytes_planned),
                               l.mapped_reads == 0 ? fmt::format("{}", l.read_calls)
                                                   : fmt::format("{} ({} mapped)", l.read_calls, l.mapped_reads),
                               seconds, gbps(l.bytes_out, seconds), gbps(l.bytes_out, mc),
                               gbps(l.bytes_out, seconds) / gbps(l.bytes_out, mc), load_average());
    };
    struct Variant {
      std::string name;
      ReadMethod method;
      bool io_uring;
      double amplification;
      DirectIo direct = DirectIo::off;  // from the page cache, whatever the probe says
      Placement placement = Placement::like_file;
      bool map_short_reads = true;
    };
    const double def = LoadOptions{}.max_read_amplification;
    std::vector<Variant> variants{{"pread (io_uring)", ReadMethod::pread, true, def},
                                  {"pread, all defaults (direct auto: residency probed)", ReadMethod::pread, true, def,
                                   DirectIo::automatic},
                                  {"pread, every row read (map_short_reads off)", ReadMethod::pread, true, def,
                                   DirectIo::off, Placement::like_file, false},
                                  {"pread, tensors on 256-byte boundaries", ReadMethod::pread, true, def, DirectIo::off,
                                   Placement::aligned_256},
                                  {"pread, exact (amplification 1)", ReadMethod::pread, true, 1.0},
                                  {fmt::format("pread, amplification <= {}", w), ReadMethod::pread, true, double(w)}};
    if (!pread_only) {
      variants.push_back({"pread (one syscall a read)", ReadMethod::pread, false, def});
      variants.push_back({"mmap", ReadMethod::mmap, false, def});
    }
    for (const Variant& v : variants) {
      if (w == 1 && v.amplification != def) continue;  // nothing strided to cover
      if (default_only && &v != &variants[0] && &v != &variants[1] && &v != &variants[2]) continue;
      LoadOptions o;
      o.io_threads = threads;
      o.method = v.method;
      o.io_uring = v.io_uring;
      o.max_read_amplification = v.amplification;
      o.direct = v.direct;
      o.placement = v.placement;
      o.map_short_reads = v.map_short_reads;
      const char* name = v.name.c_str();
      RankLoader loader = must(RankLoader::create(dir, o));
      HostBuffer arena = must(HostBuffer::allocate(loader.arena_bytes(rank)));
      LoadedRank last = must(loader.load_into(rank, {arena.data(), arena.size()}));  // page cache warm, arena written
      const std::vector<Copy> copies = rank_copies(rank, last);
      // Load and memcpy alternate, kRepeats times each, so both meet the machine's
      // memory in the same states (freed pages are cheaper to fault in again for a
      // while); medians are reported.
      std::vector<double> load_s, copy_s;
      for (int i = 0; i < kRepeats; ++i) {
        LoadedRank l = must(loader.load(rank));
        load_s.push_back(l.seconds);
        l = LoadedRank{};
        copy_s.push_back(memcpy_fresh(*source, copies, arena.size(), threads));
      }
      row(name, "fresh", last, median(load_s), median(copy_s));
      load_s.clear();
      copy_s.clear();
      for (int i = 0; i < kRepeats; ++i) {
        last = must(loader.load_into(rank, {arena.data(), arena.size()}));
        load_s.push_back(last.seconds);
        copy_s.push_back(memcpy_into(*source, copies, arena.data(), threads));
      }
      row(name, "reused", last, median(load_s), median(copy_s));
    }
    if (pread_only) continue;
    std::uint64_t naive_read = 0;
    double tn = naive(dir, plan, rank, naive_read);
    std::cout << fmt::format("| {} | naive whole-tensor pread | fresh | {} | {} | {:.3f} | - | {:.3f} | {:.2f} | - | - |\n", w,
                             rank.bytes_out(), naive_read,
                             static_cast<double>(naive_read) / static_cast<double>(rank.bytes_to_read()), tn,
                             gbps(rank.bytes_out(), tn));
    // Cold beside the warm fresh memcpy: the source mapping is dropped first so the
    // eviction can take every page of the file.
    LoadOptions o;
    o.io_threads = threads;
    RankLoader cold_loader = must(RankLoader::create(dir, o));
    const double warm_memcpy =
        memcpy_fresh(*source, rank_copies(rank, must(cold_loader.load(rank))), cold_loader.arena_bytes(rank), threads);
    source.reset();
    evict(dir + "/model.safetensors");
    LoadedRank cold = must(cold_loader.load(rank));
    row("pread, cold (fadvise DONTNEED; direct auto)", "fresh", cold, cold.seconds, warm_memcpy);
  }
  if (!keep) std::filesystem::remove_all(dir);
  return 0;
}
