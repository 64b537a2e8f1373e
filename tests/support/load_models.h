// A tiny model of one family written to a temporary folder and planned for W
// ranks, with its file image kept for byte comparisons: the loader tests' model.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "hubload/load.h"
#include "hubload/plan.h"
#include "support/test_support.h"
#include "support/tp_models.h"

namespace hubload::testing {

struct PlannedModel {
  TempDir dir;
  ShardPlan plan;
  std::vector<std::byte> file;  // model.safetensors as written
};

// Fails the calling test (and returns an empty plan) when planning fails.
std::unique_ptr<PlannedModel> planned_tiny_model(const std::string& family, int world_size, DType dtype,
                                                TinyDims dims = {});

// Loads `rank` of the model with `options`; fails the calling test on an error.
LoadedRank load_rank(const PlannedModel& model, int rank, LoadOptions options);

// Fails the calling test unless `got` holds exactly the tensors `want` (plan order).
void expect_rank_bytes(const LoadedRank& got, const std::vector<std::vector<std::byte>>& want);

}  // namespace hubload::testing
