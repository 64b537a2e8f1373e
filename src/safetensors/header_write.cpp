#include "safetensors/header_write.h"

#include <cstdio>
#include <unordered_set>

#include "safetensors/sizes.h"

namespace hubload::safetensors_internal {
namespace {

constexpr std::uint64_t kMaxHeaderBytes = 100'000'000;  // the reference writer's limit

void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

}  // namespace

Result<SerializedHeader> serialize_header(const std::vector<TensorSpec>& tensors,
                                          const std::map<std::string, std::string>& metadata,
                                          std::string_view path) {
  const std::string prefix = std::string(path) + ": ";
  SerializedHeader out;
  std::string json = "{";
  bool first = true;
  if (!metadata.empty()) {
    json += "\"__metadata__\":{";
    for (const auto& [k, v] : metadata) {
      if (!is_valid_utf8(k) || !is_valid_utf8(v)) {
        return invalid_input(prefix + "metadata entry '" + k + "' is not valid UTF-8");
      }
      if (json.back() != '{') json += ',';
      append_json_string(json, k);
      json += ':';
      append_json_string(json, v);
    }
    json += '}';
    first = false;
  }
  std::unordered_set<std::string_view> names;
  out.tensor_sizes.reserve(tensors.size());
  for (const TensorSpec& t : tensors) {
    const std::string where = prefix + "tensor '" + t.name + "': ";
    if (t.name == "__metadata__") return invalid_input(where + "the name is reserved for metadata");
    if (!is_valid_utf8(t.name)) return invalid_input(where + "the name is not valid UTF-8");
    if (!names.insert(t.name).second) return invalid_input(where + "duplicate tensor name");
    auto size = checked_tensor_bytes(t.dtype, t.shape);
    const std::string desc = std::string(to_string(t.dtype)) + " " + shape_to_string(t.shape);
    if (size.status == SizeStatus::overflow) return invalid_input(where + "size of " + desc + " overflows 64 bits");
    if (size.status == SizeStatus::misaligned) {
      return invalid_input(where + desc + " is not a whole number of bytes");
    }
    std::uint64_t end = 0;
    if (__builtin_add_overflow(out.data_bytes, size.bytes, &end)) {
      return invalid_input(where + "total data size overflows 64 bits");
    }
    if (!first) json += ',';
    first = false;
    append_json_string(json, t.name);
    json += ":{\"dtype\":\"";
    json += to_string(t.dtype);
    json += "\",\"shape\":[";
    for (std::size_t i = 0; i < t.shape.size(); ++i) {
      if (i > 0) json += ',';
      json += std::to_string(t.shape[i]);
    }
    json += "],\"data_offsets\":[" + std::to_string(out.data_bytes) + "," + std::to_string(end) + "]}";
    out.tensor_sizes.push_back(size.bytes);
    out.data_bytes = end;
    if (json.size() > kMaxHeaderBytes) break;  // refused below; stop growing
  }
  json += '}';
  json.append((8 - json.size() % 8) % 8, ' ');
  if (json.size() > kMaxHeaderBytes) {
    return invalid_input(prefix + "header of " + std::to_string(json.size()) + " bytes exceeds the limit of " +
                         std::to_string(kMaxHeaderBytes) + " bytes");
  }
  std::uint64_t n = json.size();
  out.bytes.reserve(8 + json.size());
  for (int i = 0; i < 8; ++i) out.bytes += static_cast<char>((n >> (8 * i)) & 0xFF);
  out.bytes += json;
  return out;
}

}  // namespace hubload::safetensors_internal
