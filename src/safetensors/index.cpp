// model.safetensors.index.json (safetensors.md §8.1): weight_map and total_size.
#include <nlohmann/json.hpp>
#include <unordered_set>

#include "hubload/safetensors.h"
#include "safetensors/sizes.h"

namespace hubload {
namespace {

// Shard names come from a downloaded file and become paths: nothing may escape
// the index's folder.
bool is_safe_relative_path(std::string_view name) {
  if (name.empty() || name.front() == '/' || name.find('\\') != std::string_view::npos) return false;
  if (name.find('\0') != std::string_view::npos) return false;
  std::size_t start = 0;
  while (start <= name.size()) {
    std::size_t slash = name.find('/', start);
    std::string_view part = name.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (part.empty() || part == "." || part == "..") return false;
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return true;
}

}  // namespace

std::vector<std::string> ShardedIndex::shard_files() const {
  std::vector<std::string> out;
  std::unordered_set<std::string_view> seen;
  for (const auto& [tensor, file] : weight_map) {
    if (seen.insert(file).second) out.push_back(file);
  }
  return out;
}

Result<ShardedIndex> parse_index(std::string_view json_text, std::string_view source) {
  const std::string prefix = std::string(source) + ": ";
  if (!safetensors_internal::is_valid_utf8(json_text)) return invalid_input(prefix + "index is not valid UTF-8");
  // nlohmann treats a NUL byte as the end of input; JSON never contains one.
  if (json_text.find('\0') != std::string_view::npos) return invalid_input(prefix + "index contains a NUL byte");
  nlohmann::json doc = nlohmann::json::parse(json_text.begin(), json_text.end(), nullptr, false);
  if (doc.is_discarded()) return invalid_input(prefix + "index is not valid JSON");
  if (!doc.is_object()) return invalid_input(prefix + "index is not a JSON object");
  auto wm = doc.find("weight_map");
  if (wm == doc.end()) return invalid_input(prefix + "index has no \"weight_map\"");
  if (!wm->is_object()) return invalid_input(prefix + "\"weight_map\" is not an object");
  ShardedIndex index;
  for (const auto& [tensor, file] : wm->items()) {
    if (!file.is_string()) {
      return invalid_input(prefix + "\"weight_map\" entry for tensor '" + tensor + "' is not a string");
    }
    const auto& name = file.get_ref<const std::string&>();
    if (!is_safe_relative_path(name)) {
      return invalid_input(prefix + "tensor '" + tensor + "' maps to shard \"" + name +
                           "\", which is not a plain relative path (absolute, empty, or containing '..')");
    }
    index.weight_map.emplace(tensor, name);
  }
  auto md = doc.find("metadata");
  if (md != doc.end() && !md->is_null()) {
    if (!md->is_object()) return invalid_input(prefix + "\"metadata\" is not an object");
    auto ts = md->find("total_size");
    if (ts != md->end() && !ts->is_null()) {
      // Some writers store total_size as a float with a zero fraction; accept that, nothing else.
      if (ts->is_number_unsigned()) {
        index.total_size = ts->get<std::uint64_t>();
      } else if (ts->is_number_float() && ts->get<double>() >= 0 && ts->get<double>() < 1.8e19 &&
                 ts->get<double>() == static_cast<double>(static_cast<std::uint64_t>(ts->get<double>()))) {
        index.total_size = static_cast<std::uint64_t>(ts->get<double>());
      } else {
        return invalid_input(prefix + "\"metadata.total_size\" is " + ts->dump() + ", expected a non-negative integer");
      }
    }
  }
  return index;
}

Result<ShardedIndex> load_index(const std::filesystem::path& path) {
  // Real indexes are a few MB; refuse to slurp a mislabelled multi-GB file.
  constexpr std::uint64_t kMaxIndexBytes = 256ull << 20;
  HUBLOAD_ASSIGN_OR_RETURN(ReadFile file, ReadFile::open(path));
  if (file.size() > kMaxIndexBytes) {
    return invalid_input(path.string() + ": index is " + std::to_string(file.size()) + " bytes, above the " +
                         std::to_string(kMaxIndexBytes) + "-byte limit");
  }
  std::string text(static_cast<std::size_t>(file.size()), '\0');
  HUBLOAD_TRY(file.read_at(0, std::as_writable_bytes(std::span(text.data(), text.size()))));
  return parse_index(text, path.native());
}

}  // namespace hubload
