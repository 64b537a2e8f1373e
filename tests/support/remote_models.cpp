#include "support/remote_models.h"

#include <fmt/format.h>

#include <cstring>

namespace hubload::testing {
namespace fs = std::filesystem;

std::string f32_safetensors(const std::vector<F32Tensor>& tensors, char fill, std::uint64_t header_bytes) {
  std::string header = "{";
  std::uint64_t offset = 0;
  for (const F32Tensor& t : tensors) {
    std::uint64_t bytes = 4;
    for (std::uint64_t d : t.shape) bytes *= d;
    if (header.size() > 1) header += ",";
    header += fmt::format(R"("{}":{{"dtype":"F32","shape":[{}],"data_offsets":[{},{}]}})", t.name,
                          fmt::join(t.shape, ","), offset, offset + bytes);
    offset += bytes;
  }
  header += "}";
  std::uint64_t n = std::max<std::uint64_t>(header_bytes, (header.size() + 7) / 8 * 8);
  header.resize(n, ' ');
  std::string image(8, '\0');
  for (int i = 0; i < 8; ++i) image[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  image += header;
  image.append(offset, fill);
  return image;
}

std::uint64_t header_prefix_bytes(const std::string& image) {
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(image[i]);
  return 8 + n;
}

std::string scan_cache_problem(const fs::path& root) {
  for (const auto& entry : fs::directory_iterator(root)) {
    const std::string name = entry.path().filename().string();
    if (name == ".locks" || name == "CACHEDIR.TAG") continue;
    if (!entry.is_directory()) return "root entry is not a directory: " + name;
    if (!name.starts_with("models--") && !name.starts_with("datasets--") && !name.starts_with("spaces--")) {
      return "root entry is not a repo folder: " + name;
    }
    const fs::path snapshots = entry.path() / "snapshots";
    if (!fs::is_directory(snapshots)) return "no snapshots/ in " + name;
    for (const auto& rev : fs::directory_iterator(snapshots)) {
      if (!rev.is_directory()) return "snapshots/ holds a file: " + rev.path().string();
      for (const auto& file : fs::recursive_directory_iterator(rev.path())) {
        if (!file.is_directory() && !fs::exists(file.path())) return "blob missing: " + file.path().string();
      }
    }
    const fs::path refs = entry.path() / "refs";
    if (!fs::exists(refs)) continue;
    for (const auto& ref : fs::recursive_directory_iterator(refs)) {
      if (ref.is_directory()) continue;
      std::string commit(40, '\0');
      FILE* f = std::fopen(ref.path().c_str(), "rb");
      if (f == nullptr) return "unreadable ref " + ref.path().string();
      commit.resize(std::fread(commit.data(), 1, commit.size(), f));
      std::fclose(f);
      if (!fs::is_directory(snapshots / commit)) return "ref " + ref.path().string() + " names a missing snapshot";
    }
  }
  return {};
}

}  // namespace hubload::testing
