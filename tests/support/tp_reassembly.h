// Tiny checkpoints written to disk, planned for every W up to 8 and loaded rank by
// rank with RankLoader: the re-assembly check of the tensor-parallel tests.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "hubload/config.h"
#include "hubload/safetensors.h"
#include "support/safetensors_gen.h"

namespace hubload::testing {

struct Written {
  ModelConfig config;
  GeneratedFile file;
};

using SpecsOf = std::function<std::vector<TensorSpec>(const ModelConfig&)>;

// Writes `config_json` and a model.safetensors of random bytes with specs_of(config).
Written write_model(const std::filesystem::path& dir, const std::string& config_json, const SpecsOf& specs_of);

// Plans and loads every rank for W = 1..8; returns the W that planned (the others must
// be invalid_plan). Replicated tensors must be whole on every rank, rank-0-only ones
// whole on rank 0 and absent elsewhere, and every other tensor must re-assemble from
// its ranks bit for bit.
std::vector<int> check_every_w(const std::filesystem::path& dir, const Written& m, bool expert_parallel = false);

// Writes every rank of `dir` at tp `w` with `hubload load --out` into dir/ranks and runs
// scripts/check-reassembly.py (plain Python, no hubload code) on them, expecting it to
// pass; returns its output (a JSON summary).
std::string python_reassembly(const std::filesystem::path& dir, int w);

}  // namespace hubload::testing
