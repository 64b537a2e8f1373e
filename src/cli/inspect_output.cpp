#include "cli/inspect_output.h"

#include <fmt/format.h>

#include <algorithm>
#include <iostream>
#include <map>

#include "cli/command.h"
#include "util/terminal_text.h"

namespace hubload::cli {
namespace {

std::string shape_text(const std::vector<std::uint64_t>& shape) {
  return fmt::format("[{}]", fmt::join(shape, ", "));
}

struct Totals {
  std::uint64_t parameters = 0;
  std::uint64_t bytes = 0;
  std::map<std::string, std::uint64_t> bytes_by_dtype;
};

Totals totals_of(const Checkpoint& c) {
  Totals t;
  for (const CheckpointTensor& ct : c.tensors) {
    t.parameters += ct.info.num_elements();
    t.bytes += ct.info.size;
    t.bytes_by_dtype[std::string(to_string(ct.info.dtype))] += ct.info.size;
  }
  return t;
}

void print_json_doc(const Checkpoint& c, const Totals& totals) {
  nlohmann::json shards = nlohmann::json::array();
  for (std::size_t i = 0; i < c.shard_files.size(); ++i) {
    nlohmann::json s = {{"file", c.shard_files[i]}};
    if (i < c.shard_headers.size()) {
      const SafetensorsHeader& h = c.shard_headers[i];
      s["tensors"] = h.tensors.size();
      s["header_bytes"] = h.header_size;
      s["data_bytes"] = h.file_size - h.data_offset;
      s["metadata"] = h.metadata;
    }
    shards.push_back(std::move(s));
  }
  nlohmann::json tensors = nlohmann::json::array();
  for (const CheckpointTensor& ct : c.tensors) {
    tensors.push_back({{"name", ct.info.name}, {"dtype", std::string(to_string(ct.info.dtype))},
                       {"shape", ct.info.shape}, {"bytes", ct.info.size}, {"offset", ct.info.offset},
                       {"shard", ct.file}});
  }
  nlohmann::json doc = {
      {"root", c.root},
      {"index", c.index_file ? nlohmann::json(*c.index_file) : nlohmann::json(nullptr)},
      {"shards", std::move(shards)},
      {"tensors", std::move(tensors)},
      {"totals",
       {{"tensors", c.tensors.size()}, {"parameters", totals.parameters}, {"bytes", totals.bytes},
        {"bytes_by_dtype", totals.bytes_by_dtype}, {"shards", c.shard_files.size()}}},
      {"warnings", c.warnings},
  };
  print_json(doc);
}

// Tensor and shard names come from files and, with --remote, from a server: a
// name holding ESC[2J must not clear the screen (the JSON form escapes them).
void print_table(const Checkpoint& c, const Totals& totals) {
  using util_internal::terminal_safe;
  std::vector<std::string> names;
  names.reserve(c.tensors.size());
  for (const CheckpointTensor& ct : c.tensors) names.push_back(terminal_safe(ct.info.name));
  std::size_t name_w = 4, dtype_w = 5, shape_w = 5, bytes_w = 5;
  for (std::size_t i = 0; i < c.tensors.size(); ++i) {
    const CheckpointTensor& ct = c.tensors[i];
    name_w = std::max(name_w, names[i].size());
    dtype_w = std::max(dtype_w, to_string(ct.info.dtype).size());
    shape_w = std::max(shape_w, shape_text(ct.info.shape).size());
    bytes_w = std::max(bytes_w, std::to_string(ct.info.size).size());
  }
  std::string out;
  out += fmt::format("{:<{}}  {:<{}}  {:<{}}  {:>{}}  {}\n", "name", name_w, "dtype", dtype_w, "shape", shape_w,
                     "bytes", bytes_w, "shard");
  for (std::size_t i = 0; i < c.tensors.size(); ++i) {
    const CheckpointTensor& ct = c.tensors[i];
    out += fmt::format("{:<{}}  {:<{}}  {:<{}}  {:>{}}  {}\n", names[i], name_w, to_string(ct.info.dtype), dtype_w,
                       shape_text(ct.info.shape), shape_w, ct.info.size, bytes_w, terminal_safe(ct.file));
  }
  out += "\n";
  out += fmt::format("tensors:    {}\n", c.tensors.size());
  out += fmt::format("parameters: {}\n", totals.parameters);
  out += fmt::format("bytes:      {} ({})\n", totals.bytes, format_bytes(totals.bytes));
  for (const auto& [dtype, bytes] : totals.bytes_by_dtype) {
    out += fmt::format("  {:<12} {} ({})\n", dtype, bytes, format_bytes(bytes));
  }
  out += fmt::format("shards:     {}{}\n", c.shard_files.size(),
                     c.index_file ? fmt::format(" (index {})", terminal_safe(*c.index_file)) : std::string());
  std::cout << out;
  print_warnings(c.warnings);
}

}  // namespace

void print_checkpoint(const Checkpoint& checkpoint, bool json) {
  Totals totals = totals_of(checkpoint);
  if (json) {
    print_json_doc(checkpoint, totals);
  } else {
    print_table(checkpoint, totals);
  }
}

}  // namespace hubload::cli
