// The three hashes a Hub server hands out for a file (hub-protocol.md §4), and a
// cache so a folder's files are hashed once per (size, mtime).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "hubload/error.h"

namespace hubload::serve {

std::string sha1_hex(std::string_view bytes);
std::string sha256_hex(std::string_view bytes);
// sha1("blob <size>\0" + content): the git object id of a regular file.
std::string git_blob_sha1(std::string_view content);
// The Git LFS pointer text for a file with this sha256 and size.
std::string lfs_pointer(std::string_view sha256, std::uint64_t size);

// Streams the file once (never loads it whole).
Result<std::string> file_git_blob_sha1(const std::filesystem::path& path);
Result<std::string> file_sha256(const std::filesystem::path& path);

// Hashes of on-disk files, recomputed when size or mtime changes. Thread-safe.
class HashCache {
 public:
  enum class Algo { git_sha1, sha256 };
  Result<std::string> get(const std::filesystem::path& path, Algo algo);

 private:
  struct Key {
    std::string path;
    Algo algo;
    auto operator<=>(const Key&) const = default;
  };
  struct Entry {
    std::uint64_t size = 0;
    std::int64_t mtime_ns = 0;
    std::string hex;
  };
  std::mutex mu_;
  std::map<Key, Entry> entries_;  // guarded by mu_
};

bool is_hex(std::string_view s, std::size_t length);

}  // namespace hubload::serve
