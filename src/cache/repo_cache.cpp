#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "cache/random_suffix.h"
#include "cache/write_atomically.h"
#include "hubload/cache.h"

namespace hubload {
namespace fs = std::filesystem;
namespace {

Status make_dirs(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return io_error(fmt::format("cannot create cache directory {}: {}", dir.string(), ec.message()));
  return ok();
}

}  // namespace

namespace cache_internal {

Status write_atomically(const fs::path& path, std::string_view content) {
  HUBLOAD_TRY(make_dirs(path.parent_path()));
  const fs::path tmp = cache_internal::temp_sibling(path);
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666));
  if (!fd.valid()) return errno_error(tmp.string(), errno);
  Status written = write_all(fd.get(), std::as_bytes(std::span(content.data(), content.size())), tmp.string());
  fd.reset();
  if (written && ::rename(tmp.c_str(), path.c_str()) != 0) written = errno_error(path.string(), errno);
  if (!written) ::unlink(tmp.c_str());
  return written;
}

}  // namespace cache_internal

using cache_internal::write_atomically;

RepoCache::RepoCache(fs::path root, std::string repo_id, RepoType type)
    : root_(std::move(root)), repo_id_(std::move(repo_id)), type_(type) {}

fs::path RepoCache::repo_dir() const { return root_ / repo_folder_name(repo_id_, type_); }
fs::path RepoCache::blobs_dir() const { return repo_dir() / "blobs"; }
fs::path RepoCache::blob_path(std::string_view etag) const { return blobs_dir() / std::string(etag); }
fs::path RepoCache::snapshot_dir(std::string_view commit) const {
  return repo_dir() / "snapshots" / std::string(commit);
}
fs::path RepoCache::snapshot_path(std::string_view commit, std::string_view file) const {
  return snapshot_dir(commit) / std::string(file);
}
fs::path RepoCache::ref_path(std::string_view revision) const {
  return repo_dir() / "refs" / std::string(revision);
}
fs::path RepoCache::no_exist_path(std::string_view commit, std::string_view file) const {
  return repo_dir() / ".no_exist" / std::string(commit) / std::string(file);
}
fs::path RepoCache::lock_path(std::string_view etag) const {
  return root_ / ".locks" / repo_folder_name(repo_id_, type_) / (std::string(etag) + ".lock");
}

Result<std::optional<std::string>> RepoCache::read_ref(std::string_view revision) const {
  // A revision is a path under refs/ ("refs/pr/1" nests); it must not climb out.
  if (!validate_repo_file_path(revision)) return invalid_input(fmt::format("invalid revision '{}'", revision));
  const fs::path path = ref_path(revision);
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return std::optional<std::string>();
  HUBLOAD_ASSIGN_OR_RETURN(std::string content, read_text_file(path.string()));
  // Read verbatim like Python: "<sha>\n" is as broken for us as it is for them.
  if (!is_commit_hash(content)) {
    return invalid_input(fmt::format("malformed ref file {}: expected exactly 40 lowercase hex characters, got {} bytes",
                                     path.string(), content.size()));
  }
  return std::optional<std::string>(std::move(content));
}

Result<std::optional<std::string>> RepoCache::resolve_commit(std::string_view revision) const {
  if (is_commit_hash(revision)) return std::optional<std::string>(std::string(revision));
  return read_ref(revision);
}

Status RepoCache::write_ref(std::string_view revision, std::string_view commit) const {
  if (is_commit_hash(revision) && revision == commit) return ok();
  if (!is_commit_hash(commit)) {
    return invalid_input(fmt::format("refusing to write ref '{}': '{}' is not a 40-hex commit", revision, commit));
  }
  if (!validate_repo_file_path(revision)) return invalid_input(fmt::format("invalid revision '{}'", revision));
  Result<std::optional<std::string>> current = read_ref(revision);
  if (current && current->has_value() && **current == commit) return ok();  // read-only caches keep working
  return write_atomically(ref_path(revision), commit);
}

Status RepoCache::link_snapshot(std::string_view commit, std::string_view file, std::string_view etag) const {
  HUBLOAD_TRY(validate_repo_file_path(file));
  const fs::path link = snapshot_path(commit, file);
  HUBLOAD_TRY(make_dirs(link.parent_path()));
  std::string target;
  const auto depth = static_cast<std::size_t>(std::count(file.begin(), file.end(), '/'));
  for (std::size_t i = 0; i < depth + 2; ++i) target += "../";
  target += "blobs/";
  target += etag;
  const fs::path tmp = cache_internal::temp_sibling(link);
  if (::symlink(target.c_str(), tmp.c_str()) != 0) return errno_error(tmp.string(), errno);
  if (::rename(tmp.c_str(), link.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return errno_error(link.string(), err);
  }
  return ok();
}

Status RepoCache::mark_missing(std::string_view commit, std::string_view file) const {
  HUBLOAD_TRY(validate_repo_file_path(file));
  const fs::path marker = no_exist_path(commit, file);
  HUBLOAD_TRY(make_dirs(marker.parent_path()));
  UniqueFd fd(::open(marker.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0666));
  if (!fd.valid()) return errno_error(marker.string(), errno);
  return ok();
}

bool RepoCache::known_missing(std::string_view commit, std::string_view file) const {
  if (!validate_repo_file_path(file)) return false;
  std::error_code ec;
  return fs::exists(no_exist_path(commit, file), ec);
}

Status RepoCache::prepare() const {
  for (const fs::path& dir : {blobs_dir(), repo_dir() / "snapshots", repo_dir() / "refs",
                              lock_path("x").parent_path()}) {
    HUBLOAD_TRY(make_dirs(dir));
  }
  if (::access(blobs_dir().c_str(), W_OK) != 0) {
    return io_error(fmt::format("cache directory {} is not writable: {}", blobs_dir().string(),
                                std::strerror(errno)));
  }
  return ok();
}

}  // namespace hubload
