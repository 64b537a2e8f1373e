// Writer -> reader round trips (pread and mmap readers), streaming writes and
// the writer's refusals.
#include <gtest/gtest.h>

#include <filesystem>
#include <random>

#include "hubload/safetensors.h"
#include "support/safetensors_gen.h"
#include "support/test_support.h"

namespace hubload {
namespace {

using testing::TempDir;


void expect_same_as_generated(const testing::GeneratedFile& gen) {
  auto file = SafetensorsFile::open(gen.path.string());
  ASSERT_TRUE(file) << file.error().to_string();
  auto mapped = MappedSafetensors::open(gen.path.string());
  ASSERT_TRUE(mapped) << mapped.error().to_string();
  ASSERT_EQ(file->tensors().size(), gen.specs.size());
  std::uint64_t expected_offset = file->header().data_offset;
  for (const TensorSpec& spec : gen.specs) {
    auto info = file->tensor(spec.name);
    ASSERT_TRUE(info) << spec.name;
    EXPECT_EQ((*info)->dtype, spec.dtype) << spec.name;
    EXPECT_EQ((*info)->shape, spec.shape) << spec.name;
    // The writer keeps the order given, back to back.
    EXPECT_EQ((*info)->offset, expected_offset) << spec.name;
    expected_offset += (*info)->size;
    const std::vector<std::byte>& want = gen.data.at(spec.name);
    std::vector<std::byte> got((*info)->size);
    ASSERT_TRUE(file->read_tensor(**info, got));
    EXPECT_EQ(got, want) << spec.name;
    auto view = mapped->view(spec.name);
    ASSERT_TRUE(view);
    EXPECT_TRUE(std::equal(view->begin(), view->end(), want.begin(), want.end())) << spec.name;
  }
  EXPECT_EQ(expected_offset, file->header().file_size);
  EXPECT_EQ((file->header().data_offset) % 8, 0u);  // header padded to a multiple of 8
}

TEST(SafetensorsRoundTrip, EveryDtypeWithScalarsAndEmptyTensors) {
  TempDir dir;
  std::mt19937_64 rng(42);
  std::vector<TensorSpec> specs;
  for (DType d : all_dtypes()) {
    std::string n(to_string(d));
    // Sub-byte dtypes need an element count that fills whole bytes: 4 elements do for F4 and F6.
    specs.push_back({n + ".matrix", d, {2, 4}});
    specs.push_back({n + ".empty", d, {3, 0, 2}});
    if (dtype_bits(d) % 8 == 0) specs.push_back({n + ".scalar", d, {}});
  }
  auto gen = testing::write_random_safetensors(dir / "all.safetensors", specs, rng, {{"format", "pt"}});
  expect_same_as_generated(gen);
  auto file = SafetensorsFile::open(gen.path.string());
  ASSERT_TRUE(file);
  EXPECT_EQ(file->metadata(), (std::map<std::string, std::string>{{"format", "pt"}}));
  EXPECT_EQ((*file->tensor("F4.matrix"))->size, 4u);
  EXPECT_EQ((*file->tensor("F6_E2M3.matrix"))->size, 6u);
  EXPECT_EQ((*file->tensor("C64.scalar"))->size, 8u);
}

TEST(SafetensorsRoundTrip, RandomTensorSets) {
  TempDir dir;
  std::mt19937_64 rng(7);
  for (int round = 0; round < 25; ++round) {
    auto specs = testing::random_specs(1 + rng() % 12, rng);
    auto gen = testing::write_random_safetensors(dir / ("r" + std::to_string(round) + ".safetensors"), specs, rng);
    expect_same_as_generated(gen);
  }
}

TEST(SafetensorsRoundTrip, NamesNeedingJsonEscapes) {
  TempDir dir;
  std::mt19937_64 rng(3);
  std::vector<TensorSpec> specs = {{"quote\"back\\slash", DType::U8, {1}},
                                   {"ctl\x01\n\t", DType::U8, {2}},
                                   {"\xE6\x97\xA5\xE6\x9C\xAC/w", DType::U8, {3}}};
  expect_same_as_generated(testing::write_random_safetensors(dir / "esc.safetensors", specs, rng,
                                                             {{"k\"", "v\n\xC3\xA9"}}));
}

TEST(SafetensorsRoundTrip, MatchesTheReferenceWriterBytes) {
  // V2 of safetensors.md §10: a 2x2 I32 zero tensor "test" -> 88 bytes, header padded with 4 spaces.
  TempDir dir;
  std::vector<std::byte> zeros(16);
  ASSERT_TRUE(write_safetensors((dir / "v2.safetensors").string(), {{{"test", DType::I32, {2, 2}}, zeros}}));
  std::string want = testing::raw_safetensors(
      std::string(R"({"test":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]}})") + "    ", std::string(16, '\0'));
  EXPECT_EQ(testing::read_file(dir / "v2.safetensors"), want);
  // V5: an empty dict.
  ASSERT_TRUE(write_safetensors((dir / "v5.safetensors").string(), {}));
  EXPECT_EQ(testing::read_file(dir / "v5.safetensors"), testing::raw_safetensors("{}      ", ""));
}

TEST(SafetensorsRoundTrip, StreamingWriteInOddPieces) {
  TempDir dir;
  std::mt19937_64 rng(11);
  std::vector<TensorSpec> specs = {{"a", DType::F32, {7, 13}}, {"b", DType::BF16, {5}}, {"c", DType::U8, {0}},
                                   {"d", DType::I64, {3, 3}}};
  std::vector<std::byte> all;
  std::map<std::string, std::vector<std::byte>> data;
  for (const TensorSpec& s : specs) {
    data[s.name] = testing::random_tensor_bytes(s, rng);
    all.insert(all.end(), data[s.name].begin(), data[s.name].end());
  }
  std::string path = (dir / "stream.safetensors").string();
  auto writer = SafetensorsWriter::create(path, specs);
  ASSERT_TRUE(writer) << writer.error().to_string();
  EXPECT_EQ(writer->data_bytes_expected(), all.size());
  EXPECT_FALSE(std::filesystem::exists(path));  // nothing at the final path before finish()
  std::size_t pos = 0, piece = 1;
  while (pos < all.size()) {
    std::size_t n = std::min(piece, all.size() - pos);
    ASSERT_TRUE(writer->write(std::span(all).subspan(pos, n)));
    pos += n;
    piece = piece * 3 + 1;  // 1, 4, 13, 40, ... crossing tensor boundaries
  }
  ASSERT_TRUE(writer->finish());
  testing::GeneratedFile gen{path, specs, data};
  expect_same_as_generated(gen);
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()), {}), 1);  // no temp left
}

TEST(SafetensorsWriter, ByteCountMismatchesAreErrorsAndLeaveNoFile) {
  TempDir dir;
  std::string path = (dir / "short.safetensors").string();
  {
    auto writer = SafetensorsWriter::create(path, {{"w", DType::F32, {2}}});
    ASSERT_TRUE(writer);
    std::vector<std::byte> four(4), five(5);
    ASSERT_TRUE(writer->write(four));
    Status too_many = writer->write(five);
    ASSERT_FALSE(too_many);
    EXPECT_EQ(too_many.error().kind(), ErrorKind::invalid_input);
    EXPECT_NE(too_many.error().message().find("exceeds the 8 data bytes"), std::string::npos);
    Status early = writer->finish();
    ASSERT_FALSE(early);
    EXPECT_NE(early.error().message().find("only 4 of the 8"), std::string::npos);
    EXPECT_NE(early.error().message().find(path), std::string::npos);
  }
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));  // temp removed by the destructor
}

TEST(SafetensorsWriter, ReplacesAnExistingFileOnlyOnFinish) {
  TempDir dir;
  std::string path = (dir / "m.safetensors").string();
  testing::write_file(path, "old");
  {
    auto writer = SafetensorsWriter::create(path, {{"w", DType::U8, {1}}});
    ASSERT_TRUE(writer);
    EXPECT_EQ(testing::read_file(path), "old");
  }
  EXPECT_EQ(testing::read_file(path), "old");  // abandoned writer leaves the old file alone
}

TEST(SafetensorsWriter, RefusesInvalidSpecs) {
  TempDir dir;
  std::string path = (dir / "bad.safetensors").string();
  auto expect_refused = [&](std::vector<TensorSpec> specs, std::string_view fragment,
                            std::map<std::string, std::string> metadata = {}) {
    auto w = SafetensorsWriter::create(path, std::move(specs), std::move(metadata));
    ASSERT_FALSE(w);
    EXPECT_EQ(w.error().kind(), ErrorKind::invalid_input);
    EXPECT_NE(w.error().message().find(fragment), std::string::npos) << w.error().message();
    EXPECT_NE(w.error().message().find(path), std::string::npos);
  };
  expect_refused({{"a", DType::U8, {1}}, {"a", DType::U8, {1}}}, "tensor 'a': duplicate");
  expect_refused({{"__metadata__", DType::U8, {1}}}, "reserved");
  expect_refused({{"q", DType::F4, {3}}}, "tensor 'q': F4 [3] is not a whole number of bytes");
  expect_refused({{"o", DType::F64, {1ull << 62, 8}}}, "tensor 'o': size of F64");
  expect_refused({{"\xFF", DType::U8, {1}}}, "UTF-8");
  // E14: a header above 100 MB.
  expect_refused({}, "exceeds the limit of 100000000", {{"big", std::string(100'000'000, 'a')}});
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
}

TEST(SafetensorsWriter, WholeTensorHelperChecksSizes) {
  TempDir dir;
  std::vector<std::byte> three(3);
  Status s = write_safetensors((dir / "x.safetensors").string(), {{{"w", DType::F32, {1}}, three}});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().kind(), ErrorKind::invalid_input);
  EXPECT_NE(s.error().message().find("tensor 'w' is given 3 bytes"), std::string::npos);
}

TEST(SafetensorsFileReader, ReportsMissingTensorsAndWrongBuffers) {
  TempDir dir;
  std::mt19937_64 rng(5);
  auto gen = testing::write_random_safetensors(dir / "m.safetensors", {{"w", DType::F16, {4}}}, rng);
  auto file = SafetensorsFile::open(gen.path.string());
  ASSERT_TRUE(file);
  auto missing = file->tensor("nope");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().kind(), ErrorKind::not_found);
  EXPECT_NE(missing.error().message().find("'nope'"), std::string::npos);
  auto mapped = MappedSafetensors::open(gen.path.string());
  ASSERT_TRUE(mapped);
  EXPECT_EQ(mapped->view("nope").error().kind(), ErrorKind::not_found);
  std::vector<std::byte> wrong(7);
  Status s = file->read_tensor(*file->tensors().data(), wrong);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().kind(), ErrorKind::invalid_input);
  // read_at reads any range: the 8-byte length prefix.
  std::byte len[8];
  ASSERT_TRUE(file->read_at(0, len));
  EXPECT_EQ(static_cast<std::uint64_t>(len[0]) + 8, file->header().data_offset);
}

TEST(SafetensorsFileReader, TruncatedAndCorruptFilesOnDisk) {
  TempDir dir;
  std::mt19937_64 rng(9);
  auto gen = testing::write_random_safetensors(dir / "m.safetensors", {{"w", DType::F32, {8}}}, rng);
  std::string good = testing::read_file(gen.path);
  for (std::size_t cut : {std::size_t{0}, std::size_t{5}, std::size_t{8}, std::size_t{20}, good.size() - 1}) {
    std::filesystem::path p = dir / ("cut" + std::to_string(cut) + ".safetensors");
    testing::write_file(p, std::string_view(good).substr(0, cut));
    for (bool mmap : {false, true}) {
      Error e = mmap ? MappedSafetensors::open(p.string()).error() : SafetensorsFile::open(p.string()).error();
      EXPECT_EQ(e.kind(), ErrorKind::invalid_input) << cut;
      EXPECT_NE(e.message().find(p.string()), std::string::npos) << e.message();
    }
  }
  // A header length of 2^40 in a small file is refused without allocating it.
  std::filesystem::path huge = dir / "huge.safetensors";
  testing::write_file(huge, testing::raw_safetensors("{}", "", 1ull << 40));
  auto r = SafetensorsFile::open(huge.string());
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("1099511627776"), std::string::npos);
  EXPECT_EQ(SafetensorsFile::open((dir / "absent.safetensors").string()).error().kind(), ErrorKind::not_found);
}

}  // namespace
}  // namespace hubload
