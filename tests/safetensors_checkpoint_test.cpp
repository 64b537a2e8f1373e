// open_checkpoint and the index rules of safetensors.md §8.2.
#include <gtest/gtest.h>

#include <filesystem>
#include <random>

#include "hubload/safetensors.h"
#include "support/safetensors_gen.h"
#include "support/test_support.h"

namespace hubload {
namespace {

using testing::TempDir;

std::vector<std::vector<TensorSpec>> three_shards() {
  return {{{"embed", DType::BF16, {8, 4}}, {"layer.0.w", DType::F32, {4, 4}}},
          {{"layer.1.w", DType::F32, {4, 4}}, {"norm", DType::F16, {4}}},
          {{"lm_head", DType::BF16, {8, 4}}}};
}

// Writes three_shards() into `dir`, then rewrites its index after `edit` changes the weight map.
template <class Edit>
void write_model_with_edited_index(const std::filesystem::path& dir, std::uint64_t seed, Edit edit) {
  std::mt19937_64 rng(seed);
  auto model = testing::write_sharded_model(dir, three_shards(), rng);
  auto map = model.weight_map;
  edit(map);
  testing::write_index_file(model.index, map, model.total_size);
}

void expect_invalid(const Result<Checkpoint>& r, std::initializer_list<std::string_view> fragments) {
  ASSERT_FALSE(r) << "expected an error";
  EXPECT_EQ(r.error().kind(), ErrorKind::invalid_input) << r.error().to_string();
  for (std::string_view f : fragments) {
    EXPECT_NE(r.error().message().find(f), std::string::npos) << "missing '" << f << "' in " << r.error().message();
  }
}

TEST(SafetensorsCheckpoint, FolderWithIndexListsEveryTensorShardByShard) {
  TempDir dir;
  std::mt19937_64 rng(1);
  auto model = testing::write_sharded_model(dir.path(), three_shards(), rng);
  // An extra file the index does not name is not part of the checkpoint.
  testing::write_random_safetensors(dir / "consolidated.safetensors", {{"other", DType::U8, {1}}}, rng);
  for (std::string path : {dir.path().string(), model.index.string()}) {
    auto c = open_checkpoint(path);
    ASSERT_TRUE(c) << c.error().to_string();
    EXPECT_EQ(c->root, dir.path().string());
    ASSERT_TRUE(c->index_file);
    EXPECT_EQ(*c->index_file, model.index.string());
    EXPECT_EQ(c->shard_files, (std::vector<std::string>{"model-00001-of-00003.safetensors",
                                                        "model-00002-of-00003.safetensors",
                                                        "model-00003-of-00003.safetensors"}));
    ASSERT_EQ(c->shard_headers.size(), 3u);
    ASSERT_EQ(c->tensors.size(), 5u);
    EXPECT_EQ(c->tensors[0].info.name, "embed");
    EXPECT_EQ(c->tensors[4].info.name, "lm_head");
    EXPECT_EQ(c->find("norm")->file, "model-00002-of-00003.safetensors");
    EXPECT_EQ(c->find("consolidated"), nullptr);
    EXPECT_EQ(c->total_data_bytes(), 64u + 64 + 64 + 8 + 64);
    EXPECT_TRUE(c->warnings.empty());
  }
}

// find() is a binary search over an index built when the checkpoint is opened;
// it answers for every name as a scan would, in any name order, and code that
// edits the tensors (without reindex) still gets right answers, by a scan.
TEST(SafetensorsCheckpoint, FindByNameAnswersForEveryTensor) {
  TempDir dir;
  std::mt19937_64 rng(11);
  std::vector<std::vector<TensorSpec>> shards(3);
  for (int i = 0; i < 300; ++i) {  // names out of alphabetical order within and across shards
    shards[static_cast<std::size_t>(i % 3)].push_back(
        {"model.layers." + std::to_string((i * 37) % 300) + ".w", DType::U8, {1}});
  }
  testing::write_sharded_model(dir.path(), shards, rng);
  auto c = open_checkpoint(dir.path());
  ASSERT_TRUE(c) << c.error().to_string();
  ASSERT_EQ(c->tensors.size(), 300u);
  for (const CheckpointTensor& t : c->tensors) {
    const CheckpointTensor* found = c->find(t.info.name);
    ASSERT_EQ(found, &t) << t.info.name;
  }
  for (const SafetensorsHeader& h : c->shard_headers) {
    for (const TensorInfo& t : h.tensors) EXPECT_EQ(h.find(t.name), &t) << t.name;
    EXPECT_EQ(h.find("model.layers.300.w"), nullptr);
  }
  EXPECT_EQ(c->find("model.layers.300.w"), nullptr);
  EXPECT_EQ(c->find(""), nullptr);
  EXPECT_EQ(c->find("model.layers.1"), nullptr);  // a prefix of names is not a name

  Checkpoint copy = *c;  // the index travels with the copy, pointing into the copy
  const CheckpointTensor* in_copy = copy.find("model.layers.7.w");
  ASSERT_NE(in_copy, nullptr);
  EXPECT_EQ(in_copy->info.name, "model.layers.7.w");
  EXPECT_TRUE(in_copy >= copy.tensors.data() && in_copy < copy.tensors.data() + copy.tensors.size());
  copy.tensors.push_back({TensorInfo{"added", DType::U8, {1}, 0, 1}, "x.safetensors"});
  ASSERT_NE(copy.find("added"), nullptr);  // stale index: found by a scan
  EXPECT_EQ(copy.find("added")->file, "x.safetensors");
  copy.reindex();
  EXPECT_EQ(copy.find("added")->file, "x.safetensors");
  EXPECT_EQ(copy.find("model.layers.299.w")->info.name, "model.layers.299.w");

  SafetensorsHeader by_hand;  // never indexed: a scan
  by_hand.tensors.push_back(TensorInfo{"b", DType::U8, {1}, 0, 1});
  by_hand.tensors.push_back(TensorInfo{"a", DType::U8, {1}, 1, 1});
  EXPECT_EQ(by_hand.find("a"), &by_hand.tensors[1]);
  by_hand.reindex();
  EXPECT_EQ(by_hand.find("a"), &by_hand.tensors[1]);
  EXPECT_EQ(by_hand.find("b"), &by_hand.tensors[0]);
  EXPECT_EQ(by_hand.find("c"), nullptr);
}

TEST(SafetensorsCheckpoint, SingleFileAndFolderWithoutIndex) {
  TempDir dir;
  std::mt19937_64 rng(2);
  testing::write_sharded_model(dir.path(), three_shards(), rng, /*write_index=*/false);
  auto folder = open_checkpoint(dir.path().string());
  ASSERT_TRUE(folder) << folder.error().to_string();
  EXPECT_FALSE(folder->index_file);
  EXPECT_EQ(folder->shard_files.size(), 3u);
  EXPECT_EQ(folder->tensors.size(), 5u);
  auto single = open_checkpoint((dir / "model-00002-of-00003.safetensors").string());
  ASSERT_TRUE(single) << single.error().to_string();
  EXPECT_EQ(single->shard_files, std::vector<std::string>{"model-00002-of-00003.safetensors"});
  EXPECT_EQ(single->tensors.size(), 2u);
}

TEST(SafetensorsCheckpoint, MissingShard) {
  TempDir dir;
  std::mt19937_64 rng(3);
  testing::write_sharded_model(dir.path(), three_shards(), rng);
  std::filesystem::remove(dir / "model-00002-of-00003.safetensors");
  expect_invalid(open_checkpoint(dir.path().string()),
                 {"model.safetensors.index.json", "model-00002-of-00003.safetensors", "does not exist", "layer.1.w"});
}

TEST(SafetensorsCheckpoint, TensorMappedToTheWrongShard) {
  TempDir dir;
  write_model_with_edited_index(dir.path(), 4, [](auto& map) { map["norm"] = "model-00003-of-00003.safetensors"; });
  expect_invalid(open_checkpoint(dir.path().string()),
                 {"tensor 'norm'", "mapped to model-00003-of-00003.safetensors", "is in model-00002-of-00003"});
}

TEST(SafetensorsCheckpoint, MappedTensorAbsentFromEveryShard) {
  TempDir dir;
  write_model_with_edited_index(dir.path(), 5, [](auto& map) { map["ghost"] = "model-00001-of-00003.safetensors"; });
  expect_invalid(open_checkpoint(dir.path().string()), {"tensor 'ghost'", "in no shard"});
}

TEST(SafetensorsCheckpoint, DuplicateAcrossShards) {
  TempDir dir;
  std::mt19937_64 rng(6);
  auto shards = three_shards();
  shards[2].push_back({"norm", DType::F16, {4}});
  auto model = testing::write_sharded_model(dir.path(), shards, rng);
  expect_invalid(open_checkpoint(dir.path().string()),
                 {"tensor 'norm'", "model-00002-of-00003.safetensors", "model-00003-of-00003.safetensors"});
  std::filesystem::remove(model.index);
  expect_invalid(open_checkpoint(dir.path().string()),
                 {"tensor 'norm'", "two shards", "model-00002-of-00003.safetensors and model-00003-of-00003"});
}

TEST(SafetensorsCheckpoint, TotalSizeMismatchAndUnmappedTensorsAreWarnings) {
  TempDir dir;
  write_model_with_edited_index(dir.path(), 7, [](auto& map) { map.erase("norm"); });
  auto c = open_checkpoint(dir.path().string());
  ASSERT_TRUE(c) << c.error().to_string();
  EXPECT_EQ(c->tensors.size(), 4u);
  EXPECT_EQ(c->find("norm"), nullptr);
  ASSERT_EQ(c->warnings.size(), 2u);
  EXPECT_NE(c->warnings[0].find("model-00002-of-00003.safetensors: tensor 'norm' is not in the index"),
            std::string::npos) << c->warnings[0];
  EXPECT_NE(c->warnings[1].find("total_size is 264 but the mapped tensors hold 256"), std::string::npos)
      << c->warnings[1];
}

TEST(SafetensorsCheckpoint, InvalidShardHeaderNamesTheShard) {
  TempDir dir;
  std::mt19937_64 rng(8);
  testing::write_sharded_model(dir.path(), three_shards(), rng);
  std::filesystem::path shard = dir / "model-00003-of-00003.safetensors";
  testing::write_file(shard, testing::read_file(shard) + "x");
  expect_invalid(open_checkpoint(dir.path().string()), {shard.string(), "trailing"});
}

TEST(SafetensorsIndex, ParsesWeightMapAndTotalSize) {
  auto idx = parse_index(R"({"metadata":{"total_size":32,"total_parameters":8},"weight_map":)"
                         R"({"b":"s2.safetensors","a":"s1.safetensors","c":"s1.safetensors"}})",
                         "i.json");
  ASSERT_TRUE(idx) << idx.error().to_string();
  EXPECT_EQ(idx->total_size, 32u);
  EXPECT_EQ(idx->weight_map.size(), 3u);
  EXPECT_EQ(idx->shard_files(), (std::vector<std::string>{"s1.safetensors", "s2.safetensors"}));
  auto no_meta = parse_index(R"({"weight_map":{}})", "i.json");
  ASSERT_TRUE(no_meta);
  EXPECT_FALSE(no_meta->total_size);
}

TEST(SafetensorsIndex, RejectsMalformedIndexes) {
  auto expect_bad = [](std::string_view text, std::string_view fragment) {
    auto r = parse_index(text, "idx.json");
    ASSERT_FALSE(r) << text;
    EXPECT_EQ(r.error().kind(), ErrorKind::invalid_input);
    EXPECT_NE(r.error().message().find("idx.json"), std::string::npos);
    EXPECT_NE(r.error().message().find(fragment), std::string::npos) << r.error().message();
  };
  expect_bad("{", "not valid JSON");
  expect_bad("[]", "not a JSON object");
  expect_bad(R"({"metadata":{}})", "no \"weight_map\"");
  expect_bad(R"({"weight_map":[]})", "not an object");
  expect_bad(R"({"weight_map":{"a":1}})", "tensor 'a'");
  expect_bad(R"({"weight_map":{"a":"../x.safetensors"}})", "'..'");
  expect_bad(R"({"weight_map":{"a":"sub/../../x.safetensors"}})", "'..'");
  expect_bad(R"({"weight_map":{"a":"/etc/passwd"}})", "absolute");
  expect_bad(R"({"weight_map":{"a":""}})", "tensor 'a'");
  expect_bad(R"({"metadata":{"total_size":-1},"weight_map":{}})", "total_size");
  expect_bad(R"({"metadata":{"total_size":"12"},"weight_map":{}})", "total_size");
  expect_bad(std::string_view("{\"weight_map\":{}}\0junk", 22), "NUL");
}

TEST(SafetensorsCheckpoint, PathErrors) {
  TempDir dir;
  EXPECT_EQ(open_checkpoint((dir / "absent").string()).error().kind(), ErrorKind::not_found);
  EXPECT_EQ(open_checkpoint(dir.path().string()).error().kind(), ErrorKind::not_found);  // empty folder
}

}  // namespace
}  // namespace hubload
