// RankLoader on generated model folders: the bytes equal the plan applied to the
// file image; pread, mmap, 1 or N threads, chunking and gap coalescing agree;
// dtype conversion rounds as specified.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <cstring>

#include "hubload/load.h"
#include "support/test_support.h"
#include "support/load_models.h"
#include "support/tp_models.h"

namespace hubload {
namespace {

using testing::TinyDims;
using testing::load_rank;
using testing::planned_tiny_model;

void expect_same(const LoadedRank& a, const LoadedRank& b) {
  ASSERT_EQ(a.tensors.size(), b.tensors.size());
  for (std::size_t i = 0; i < a.tensors.size(); ++i) {
    ASSERT_EQ(a.tensors[i].name, b.tensors[i].name);
    ASSERT_EQ(a.tensors[i].bytes.size(), b.tensors[i].bytes.size());
    EXPECT_EQ(0, std::memcmp(a.tensors[i].bytes.data(), b.tensors[i].bytes.data(), a.tensors[i].bytes.size()))
        << a.tensors[i].name;
  }
}

TEST(RankLoader, BytesEqualThePlanAppliedToTheFile) {
  for (const std::string family : {"llama", "gpt2", "falcon"}) {
    auto m = planned_tiny_model(family, 4, DType::BF16);
    for (int r = 0; r < 4; ++r) {
      RankPlan rp = *rank_plan(m->plan, r);
      auto want = testing::apply_rank_plan(rp, m->file);
      LoadedRank got = load_rank(*m, r, {});
      ASSERT_EQ(got.tensors.size(), want.size());
      for (std::size_t i = 0; i < want.size(); ++i) {
        // Placed like the file (Placement::like_file) where it can be, else on a 256-byte boundary.
        const auto at = reinterpret_cast<std::uintptr_t>(got.tensors[i].bytes.data());
        const ByteRun& first = rp.tensors[i].runs.at(0);
        EXPECT_TRUE(at % 64 == (first.file_offset - first.dest_offset) % 64 || at % 256 == 0) << got.tensors[i].name;
        EXPECT_EQ(at % (dtype_bits(got.tensors[i].dtype) / 8), 0u) << got.tensors[i].name;
        ASSERT_EQ(got.tensors[i].bytes.size(), want[i].size());
        EXPECT_EQ(0, std::memcmp(got.tensors[i].bytes.data(), want[i].data(), want[i].size()))
            << family << " rank " << r << " " << got.tensors[i].name;
        EXPECT_EQ(got.tensors[i].shape, rp.tensors[i].shape);
      }
      EXPECT_EQ(got.bytes_planned, rp.bytes_to_read());
      EXPECT_EQ(got.bytes_out, rp.bytes_out());
      EXPECT_GE(got.bytes_read, got.bytes_planned);
      EXPECT_LE(got.bytes_read * 16, got.bytes_planned * 17);  // default over-read bound: 1/16
    }
  }
}

TEST(RankLoader, PreadMmapThreadsAndChunkingAgree) {
  auto m = planned_tiny_model("qwen2", 2, DType::BF16);
  LoadOptions base;
  base.io_threads = 1;
  for (int r = 0; r < 2; ++r) {
    LoadedRank ref = load_rank(*m, r, base);
    LoadOptions mm = base;
    mm.method = ReadMethod::mmap;
    expect_same(ref, load_rank(*m, r, mm));
    LoadOptions threads = base;
    threads.io_threads = 4;
    threads.chunk_bytes = 64;  // many small tasks across threads
    expect_same(ref, load_rank(*m, r, threads));
    LoadOptions no_gap = threads;
    no_gap.max_gap_bytes = 0;  // every strided run its own read
    LoadedRank separate = load_rank(*m, r, no_gap);
    expect_same(ref, separate);
    EXPECT_EQ(separate.bytes_read, separate.bytes_planned);  // nothing beyond the rank's share
    LoadOptions wide = base;
    wide.max_gap_bytes = 1 << 20;  // covering reads, then gather
    wide.max_overread = 1e9;       // however much they skip
    LoadedRank covering = load_rank(*m, r, wide);
    expect_same(ref, covering);
    EXPECT_LT(covering.read_calls, separate.read_calls);
  }
}

std::vector<std::byte> as_bytes_of(const std::vector<std::uint32_t>& v) {
  std::vector<std::byte> b(v.size() * 4);
  std::memcpy(b.data(), v.data(), b.size());
  return b;
}
std::vector<std::uint16_t> u16s(const std::vector<std::byte>& b) {
  std::vector<std::uint16_t> v(b.size() / 2);
  std::memcpy(v.data(), b.data(), b.size());
  return v;
}

TEST(Convert, F32ToBf16RoundsToNearestEven) {
  // 1.0; 1 + 2^-8 (tie, even down); 1 + 3·2^-8 (tie, odd up); just above the tie; -2.5; +inf; NaN.
  std::vector<std::uint32_t> in = {0x3f800000, 0x3f808000, 0x3f818000, 0x3f808001, 0xc0200000, 0x7f800000, 0x7fc00001};
  std::vector<std::byte> out(in.size() * 2);
  ASSERT_TRUE(convert_floats(DType::F32, DType::BF16, as_bytes_of(in), out).has_value());
  auto v = u16s(out);
  EXPECT_EQ(v[0], 0x3f80);
  EXPECT_EQ(v[1], 0x3f80);
  EXPECT_EQ(v[2], 0x3f82);
  EXPECT_EQ(v[3], 0x3f81);
  EXPECT_EQ(v[4], 0xc020);
  EXPECT_EQ(v[5], 0x7f80);
  EXPECT_EQ(v[6] & 0x7f80, 0x7f80);
  EXPECT_NE(v[6] & 0x007f, 0);  // still NaN
}

TEST(Convert, F32ToF16HandlesOverflowSubnormalsAndTies) {
  // 65504 (max), 65520 (rounds to inf), 2^-24 (smallest subnormal), 2^-25 (tie to 0),
  // 1.5·2^-25 (rounds up to 2^-24), 1 + 2^-11 (tie, even down), 1 + 3·2^-11 (tie, up).
  std::vector<std::uint32_t> in = {0x477fe000, 0x477ff000, 0x33800000, 0x33000000, 0x33400000, 0x3f801000, 0x3f803000};
  std::vector<std::byte> out(in.size() * 2);
  ASSERT_TRUE(convert_floats(DType::F32, DType::F16, as_bytes_of(in), out).has_value());
  EXPECT_EQ(u16s(out), (std::vector<std::uint16_t>{0x7bff, 0x7c00, 0x0001, 0x0000, 0x0001, 0x3c00, 0x3c02}));
  // And back: every f16 bit pattern except NaNs survives f16 -> f32 -> f16.
  std::vector<std::byte> all(65536 * 2), f32(65536 * 4), back(65536 * 2);
  for (std::uint32_t i = 0; i < 65536; ++i) {
    auto h = static_cast<std::uint16_t>(i);
    std::memcpy(all.data() + 2 * i, &h, 2);
  }
  ASSERT_TRUE(convert_floats(DType::F16, DType::F32, all, f32).has_value());
  ASSERT_TRUE(convert_floats(DType::F32, DType::F16, f32, back).has_value());
  auto a = u16s(all), b = u16s(back);
  for (std::size_t i = 0; i < a.size(); ++i)
    if ((a[i] & 0x7c00) != 0x7c00 || (a[i] & 0x3ff) == 0) {
      ASSERT_EQ(a[i], b[i]) << i;
    }
  float f;
  std::memcpy(&f, f32.data() + 4 * 1, 4);
  EXPECT_EQ(f, std::ldexp(1.0f, -24));
}

TEST(Convert, LoaderRoundTripsBf16ThroughF32Exactly) {
  auto m = planned_tiny_model("llama", 2, DType::BF16);
  LoadedRank bf16 = load_rank(*m, 1, {});
  LoadOptions to_f32;
  to_f32.convert_to = DType::F32;
  LoadedRank f32 = load_rank(*m, 1, to_f32);
  ASSERT_EQ(f32.tensors.size(), bf16.tensors.size());
  for (std::size_t i = 0; i < f32.tensors.size(); ++i) {
    EXPECT_EQ(f32.tensors[i].dtype, DType::F32);
    ASSERT_EQ(f32.tensors[i].bytes.size(), 2 * bf16.tensors[i].bytes.size());
    std::vector<std::byte> back(bf16.tensors[i].bytes.size());
    ASSERT_TRUE(convert_floats(DType::F32, DType::BF16, f32.tensors[i].bytes, back).has_value());
    EXPECT_EQ(0, std::memcmp(back.data(), bf16.tensors[i].bytes.data(), back.size())) << f32.tensors[i].name;
  }
  LoadOptions mm = to_f32;
  mm.method = ReadMethod::mmap;
  mm.io_threads = 3;
  expect_same(f32, load_rank(*m, 1, mm));
}

TEST(RankLoader, VocabPaddingRowsAreZero) {
  auto m = planned_tiny_model("gpt2", 4, DType::F32);  // vocab 50: padded to 64, rank 3 holds rows 48..49 + 14 zero rows
  LoadedRank r3 = load_rank(*m, 3, {});
  const LoadedTensor* wte = r3.find("wte.weight");
  ASSERT_NE(wte, nullptr);
  EXPECT_EQ(wte->shape, (std::vector<std::uint64_t>{16, 32}));
  for (std::size_t i = 2 * 32 * 4; i < wte->bytes.size(); ++i) ASSERT_EQ(wte->bytes[i], std::byte{0}) << i;
}

TEST(RankLoader, FindByNameAnswersForEveryLoadedTensor) {
  auto m = planned_tiny_model("llama", 2, DType::BF16);
  LoadedRank loaded = load_rank(*m, 0, {});
  ASSERT_GT(loaded.tensors.size(), 3u);
  LoadedRank moved = std::move(loaded);  // the index moves with the tensors
  for (const LoadedTensor& t : moved.tensors) EXPECT_EQ(moved.find(t.name), &t) << t.name;
  EXPECT_EQ(moved.find("model.layers.99.mlp.up_proj.weight"), nullptr);
}

// The loader reads with O_NOATIME after one plain read, so `hubload cache`'s
// "accessed" (the blobs' atime) still moves when a model is loaded.
TEST(RankLoader, LoadingUpdatesTheFilesAccessTimeAsReadsWould) {
  auto m = planned_tiny_model("llama", 2, DType::BF16);
  const std::string path = (m->dir / "model.safetensors").string();
  auto age = [&] {
    const timespec old[2] = {{::time(nullptr) - 3 * 86400, 0}, {0, UTIME_OMIT}};  // atime 3 days ago
    return ::utimensat(AT_FDCWD, path.c_str(), old, 0) == 0;
  };
  auto atime = [&] {
    struct stat st {};
    ::stat(path.c_str(), &st);
    return st.st_atim.tv_sec;
  };
  const std::int64_t before = ::time(nullptr) - 86400;
  ASSERT_TRUE(age());
  {
    // Where the mount keeps no access times (noatime), there is nothing to keep.
    ReadFile probe = *ReadFile::open(path);
    std::byte one[1];
    ASSERT_TRUE(probe.read_at(0, one).has_value());
    if (atime() < before) GTEST_SKIP() << "this file system does not update access times on read";
  }
  for (ReadMethod method : {ReadMethod::pread, ReadMethod::mmap}) {
    ASSERT_TRUE(age());
    ASSERT_LT(atime(), before);
    LoadOptions o;
    o.method = method;
    o.direct = DirectIo::off;
    load_rank(*m, 0, o);
    EXPECT_GE(atime(), before) << (method == ReadMethod::pread ? "pread" : "mmap");
  }
}

TEST(RankLoaderErrors, BadOptionsAndShortFilesAreReported) {
  LoadOptions zero;
  zero.io_threads = 0;
  EXPECT_EQ(RankLoader::create(".", zero).error().kind(), ErrorKind::invalid_input);
  LoadOptions bad;
  bad.convert_to = DType::I32;
  EXPECT_EQ(RankLoader::create(".", bad).error().kind(), ErrorKind::invalid_input);

  testing::TempDir dir;
  testing::write_file(dir / "short.safetensors", std::string(100, 'x'));
  RankPlan plan;
  plan.tensors.push_back(RankTensor{"t", "short.safetensors", DType::U8, {64}, 64, {{80, 64, 0}}, {}});
  for (ReadMethod method : {ReadMethod::pread, ReadMethod::mmap}) {
    LoadOptions o;
    o.method = method;
    Result<LoadedRank> r = RankLoader::create(dir.path().string(), o)->load(plan);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().kind(), ErrorKind::invalid_input) << r.error().to_string();
    EXPECT_NE(r.error().message().find("short.safetensors"), std::string::npos) << r.error().message();
  }
  plan.tensors[0].file = "absent.safetensors";
  Result<LoadedRank> missing = RankLoader::create(dir.path().string())->load(plan);
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().kind(), ErrorKind::not_found);
}

}  // namespace
}  // namespace hubload
