#include "remote/remote_metadata_cache.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cache/write_atomically.h"

namespace hubload::remote_internal {
namespace fs = std::filesystem;
namespace {

constexpr int kFormatVersion = 1;

}  // namespace

fs::path RemoteMetadataCache::private_dir() const { return cache_.repo_dir() / ".hubload"; }

fs::path RemoteMetadataCache::metadata_path(std::string_view commit) const {
  return private_dir() / "safetensors" / (std::string(commit) + ".json");
}

fs::path RemoteMetadataCache::ref_path(std::string_view revision) const {
  // The same nesting as refs/ (refs/pr/1 -> .hubload/refs/refs/pr/1).
  return private_dir() / cache_.ref_path(revision).lexically_relative(cache_.repo_dir());
}

std::optional<std::string> RemoteMetadataCache::read_ref(std::string_view revision) const {
  if (!validate_repo_file_path(revision)) return std::nullopt;  // no '..' escapes
  Result<std::string> text = read_text_file(ref_path(revision).string());
  if (!text || !is_commit_hash(*text)) return std::nullopt;
  return *text;
}

std::optional<CachedMetadata> RemoteMetadataCache::load(std::string_view commit) const {
  Result<std::string> text = read_text_file(metadata_path(commit).string());
  if (!text) return std::nullopt;
  nlohmann::json doc = nlohmann::json::parse(*text, nullptr, false);
  try {
    if (!doc.is_object() || doc.value("format_version", 0) != kFormatVersion || doc.at("commit") != commit) {
      return std::nullopt;
    }
    CachedMetadata meta;
    meta.commit = std::string(commit);
    if (doc.at("index_file").is_string()) {
      meta.index_file = doc["index_file"].get<std::string>();
      meta.index_json = doc.at("index").get<std::string>();
    }
    for (const auto& shard : doc.at("shards")) {
      meta.shards.push_back({shard.at("file").get<std::string>(), shard.at("size").get<std::uint64_t>(),
                             shard.at("header").get<std::string>()});
    }
    return meta;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;  // a damaged file is a cache miss
  }
}

Status RemoteMetadataCache::store(const CachedMetadata& meta, std::string_view revision) const {
  HUBLOAD_TRY(cache_.prepare());
  nlohmann::json shards = nlohmann::json::array();
  for (const CachedShard& s : meta.shards) {
    shards.push_back({{"file", s.file}, {"size", s.size}, {"header", s.header_json}});
  }
  nlohmann::json doc = {{"format_version", kFormatVersion},
                        {"commit", meta.commit},
                        {"index_file", meta.index_file ? nlohmann::json(*meta.index_file) : nlohmann::json()},
                        {"index", meta.index_json ? nlohmann::json(*meta.index_json) : nlohmann::json()},
                        {"shards", std::move(shards)}};
  // Headers passed UTF-8 validation; replacing is only a guard for the dump.
  HUBLOAD_TRY(cache_internal::write_atomically(metadata_path(meta.commit),
                           doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)));
  if (is_commit_hash(revision)) return ok();
  return cache_internal::write_atomically(ref_path(revision), meta.commit);
}

}  // namespace hubload::remote_internal
