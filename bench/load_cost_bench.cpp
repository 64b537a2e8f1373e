// Measures the constants of the rank loader's cost model (LoadOptions::cached_cost
// and direct_cost, docs/tensor-parallel.md#read-strategy-the-cost-model) on this machine, with the loader's
// own reader (one io_uring, batches of 64) on one thread:
//   per_read_ns   (time of N small reads - their bytes at per_byte_ns) / N, the
//                 small reads being 1 KiB rows 8 KiB apart (a W = 8 row slice);
//   per_byte_ns   time of 8 MiB reads (page cache) or 1 MiB reads 16 in flight
//                 (O_DIRECT) / their bytes;
//   copy_per_byte memcpy of 1 KiB pieces out of an 8 MiB bounce buffer.
// mapped_cost (LoadOptions::mapped_cost, map_short_reads) the same rows and 8 MiB
// pieces memcpy'd out of a leased mapping of the cached half, mapped afresh for
// each (its page faults counted, as in a load).
// Cached figures after reading the file once; direct ones read a region not read
// before in this run, through O_DIRECT (the page cache plays no part). Medians of 3.
//
//   load_cost_bench [--file /tmp/hubload-cost.bin] [--mib 1024] [--keep]
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "hubload/file.h"
#include "hubload/load.h"
#include "load/direct_io.h"
#include "load/leased_mapping.h"
#include "load/uring_reader.h"

using namespace hubload;
using load_internal::PositionalRead;
using load_internal::UringReader;

namespace {

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

template <class T>
T must(Result<T> r) {
  if (!r) {
    std::cerr << "load_cost_bench: " << r.error().to_string() << "\n";
    std::exit(1);
  }
  return std::move(r).value();
}
void must(Status s) {
  if (!s) {
    std::cerr << "load_cost_bench: " << s.error().to_string() << "\n";
    std::exit(1);
  }
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// `count` reads of `length` bytes, `stride` apart from `start`, `depth` at a time
// (one read_all per batch of `depth`), into `dest` (each read its own slot when
// `slots`, else all into the start).
double timed_reads(UringReader& ring, int fd, const std::string& path, std::uint64_t start, std::uint64_t stride,
                   std::uint64_t length, std::size_t count, std::size_t depth, std::byte* dest, bool slots) {
  std::vector<PositionalRead> batch;
  const double t0 = now();
  for (std::size_t i = 0; i < count;) {
    batch.clear();
    for (; i < count && batch.size() < depth; ++i)
      batch.push_back(PositionalRead{fd, start + i * stride, length, dest + (slots ? batch.size() * length : 0), path});
    must(ring.read_all(batch));
  }
  return now() - t0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string path = "/tmp/hubload-cost.bin";
  std::uint64_t mib = 1024;
  bool keep = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--file" && i + 1 < argc) path = argv[++i];
    else if (a == "--mib" && i + 1 < argc) mib = std::stoull(argv[++i]);
    else if (a == "--keep") keep = true;
  }
  const std::uint64_t size = mib << 20;
  if (!std::filesystem::exists(path) || std::filesystem::file_size(path) != size) {
    UniqueFd out(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644));
    std::vector<std::uint64_t> block(1 << 20);
    std::uint64_t x = 0x9e3779b97f4a7c15ULL;
    for (std::uint64_t done = 0; done < size; done += block.size() * 8) {
      for (auto& v : block) v = (x = x * 6364136223846793005ULL + 1442695040888963407ULL);
      must(write_all(out.get(), std::as_bytes(std::span(block)), path));
    }
    ::fsync(out.get());
  }
  ReadFile file = must(ReadFile::open(path));
  UringReader ring = must(UringReader::create(64));
  HostBuffer big = must(HostBuffer::allocate(64u << 20));
  std::memset(big.data(), 1, big.size());  // no first-touch faults in the timings
  const std::uint64_t half = size / 2;     // cached figures use the first half, direct the second

  // Page cache: warm the first half.
  timed_reads(ring, file.fd(), path, 0, 8u << 20, 8u << 20, half / (8u << 20), 1, big.data(), false);
  std::vector<double> per_byte, per_read, copy;
  for (int rep = 0; rep < 3; ++rep) {
    const std::size_t n = half / (8u << 20);
    per_byte.push_back(timed_reads(ring, file.fd(), path, 0, 8u << 20, 8u << 20, n, 1, big.data(), false) * 1e9 /
                       static_cast<double>(n * (8u << 20)));
    const std::size_t rows = std::min<std::uint64_t>(half / 8192, 65536);
    const double t = timed_reads(ring, file.fd(), path, 0, 8192, 1024, rows, 64, big.data(), true);
    per_read.push_back(t * 1e9 / static_cast<double>(rows) - 1024 * per_byte.back());
    // Copy-out: 1 KiB of every 8 KiB of an 8 MiB buffer, 8 times over.
    const double c0 = now();
    for (int k = 0; k < 8; ++k)
      for (std::uint64_t r = 0; r < 1024; ++r)
        std::memcpy(big.data() + (16u << 20) + (k * 1024 + r) * 1024, big.data() + r * 8192, 1024);
    copy.push_back((now() - c0) * 1e9 / (8.0 * 1024 * 1024));
  }
  std::cout << fmt::format("file {} ({} MiB); load average {}\n", path, mib, [] {
    double l[3] = {0, 0, 0};
    ::getloadavg(l, 3);
    return fmt::format("{:.2f} {:.2f} {:.2f}", l[0], l[1], l[2]);
  }());
  std::cout << fmt::format("cached_cost: per_read_ns {:.0f}, per_byte_ns {:.4f}, copy_per_byte_ns {:.4f}\n",
                           median(per_read), median(per_byte), median(copy));

  {
    std::vector<double> m_byte, m_read;
    for (int rep = 0; rep < 3; ++rep) {
      double t0 = now();
      {
        load_internal::LeasedMapping map = must(load_internal::LeasedMapping::open(path, file.fd()));
        for (std::uint64_t at = 0; at + (8u << 20) <= half; at += 8u << 20)
          std::memcpy(big.data(), map.bytes().data() + at, 8u << 20);
      }
      m_byte.push_back((now() - t0) * 1e9 / static_cast<double>(half / (8u << 20) * (8u << 20)));
      const std::size_t rows = std::min<std::uint64_t>(half / 8192, 65536);
      t0 = now();
      {
        load_internal::LeasedMapping map = must(load_internal::LeasedMapping::open(path, file.fd()));
        for (std::size_t r = 0; r < rows; ++r) std::memcpy(big.data() + r * 1024, map.bytes().data() + r * 8192, 1024);
      }
      m_read.push_back((now() - t0) * 1e9 / static_cast<double>(rows) - 1024 * m_byte.back());
    }
    std::cout << fmt::format("mapped_cost: per_read_ns {:.0f}, per_byte_ns {:.4f} (leased mapping, faults included)\n",
                             median(m_read), median(m_byte));
  }

  Result<load_internal::DirectFile> direct = load_internal::open_direct(path);
  if (!direct) {
    std::cout << "direct_cost: not measured: " << direct.error().to_string() << "\n";
  } else {
    // Each repetition reads a part of the second half not read before, so that
    // the device, not a cache below the file system, answers.
    std::vector<double> d_byte, d_read;
    const std::uint64_t part = half / 3 / (1u << 20) * (1u << 20);
    for (int rep = 0; rep < 3; ++rep) {
      const std::uint64_t base = half + rep * part;
      const std::uint64_t seq = part / 2 / (1u << 20) * (1u << 20);
      d_byte.push_back(timed_reads(ring, direct->fd.get(), path, base, 1u << 20, 1u << 20, seq >> 20, 16, big.data(), true) *
                       1e9 / static_cast<double>(seq));
      const std::size_t rows = std::min<std::uint64_t>((part - seq) / 8192, 16384);
      const double t = timed_reads(ring, direct->fd.get(), path, base + seq, 8192, 4096, rows, 64, big.data(), true);
      d_read.push_back(t * 1e9 / static_cast<double>(rows) - 4096 * d_byte.back());
    }
    std::cout << fmt::format("direct_cost: per_read_ns {:.0f}, per_byte_ns {:.4f} (O_DIRECT, alignment {})\n",
                             median(d_read), median(d_byte), direct->offset_align);
  }
  if (!keep) std::filesystem::remove(path);
  return 0;
}
