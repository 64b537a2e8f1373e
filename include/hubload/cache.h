// The Python-compatible Hub cache (huggingface_hub 0.3x and 1.x, both ways):
//   <root>/<type>s--<org>--<name>/{blobs,snapshots,refs,.no_exist}
//   <root>/.locks/<type>s--<org>--<name>/<etag>.lock
// Blobs are named by their etag, snapshot entries are RELATIVE symlinks to
// them, refs hold 40 hex characters without a newline.
#pragma once
#pragma GCC visibility push(default)  // public API: exported by the shared libraries (see CMake)

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "hubload/error.h"
#include "hubload/file.h"

namespace hubload {

enum class RepoType { model, dataset, space };

std::string_view to_string(RepoType type);           // "model", "dataset", "space"
Result<RepoType> parse_repo_type(std::string_view);  // the inverse; anything else: invalid_input

// "models--org--name", "datasets--glue", "spaces--org--name".
std::string repo_folder_name(std::string_view repo_id, RepoType type);

// The inverse of repo_folder_name: "models--org--name" -> {model, "org/name"}.
// invalid_input, naming the folder, for anything no valid repo id produces.
struct RepoFolder {
  RepoType type = RepoType::model;
  std::string repo_id;
};
Result<RepoFolder> parse_repo_folder_name(std::string_view folder_name);

// A Hub repo id: "name" or "org/name", [A-Za-z0-9._-], no "--" or ".." and no
// leading/trailing '-' or '.'. The error says what is wrong.
Status validate_repo_id(std::string_view repo_id);

// `^[0-9a-f]{40}$`, the only revisions that are commits without asking the Hub.
bool is_commit_hash(std::string_view revision);

// A file name inside a repo, as a server sends it: relative, '/'-separated, no
// empty, '.' or '..' segments, no backslash, no NUL. Checked before any disk access.
Status validate_repo_file_path(std::string_view path);

// One repo's corner of the cache. Pure path arithmetic plus the few small
// writes (refs, links, markers) that must be byte-compatible with Python.
class RepoCache {
 public:
  RepoCache(std::filesystem::path root, std::string repo_id, RepoType type);

  const std::filesystem::path& root() const { return root_; }
  const std::string& repo_id() const { return repo_id_; }
  RepoType type() const { return type_; }
  std::filesystem::path repo_dir() const;
  std::filesystem::path blobs_dir() const;
  std::filesystem::path blob_path(std::string_view etag) const;
  std::filesystem::path snapshot_dir(std::string_view commit) const;
  std::filesystem::path snapshot_path(std::string_view commit, std::string_view file) const;
  std::filesystem::path ref_path(std::string_view revision) const;
  std::filesystem::path no_exist_path(std::string_view commit, std::string_view file) const;
  std::filesystem::path lock_path(std::string_view etag) const;

  // The commit a ref names; nullopt when the ref file is absent. A ref that is
  // not exactly 40 lowercase hex characters is an invalid_input error naming it.
  Result<std::optional<std::string>> read_ref(std::string_view revision) const;
  // A 40-hex revision is its own commit; otherwise read_ref.
  Result<std::optional<std::string>> resolve_commit(std::string_view revision) const;

  // Writes refs/<revision> (40 bytes, atomically, only when the content
  // changes). A commit revision writes nothing.
  Status write_ref(std::string_view revision, std::string_view commit) const;

  // snapshots/<commit>/<file> -> ../../blobs/<etag> (one more ../ per level),
  // replacing whatever was there atomically.
  Status link_snapshot(std::string_view commit, std::string_view file, std::string_view etag) const;

  // The empty marker .no_exist/<commit>/<file>, and its test.
  Status mark_missing(std::string_view commit, std::string_view file) const;
  bool known_missing(std::string_view commit, std::string_view file) const;

  // Creates blobs/, snapshots/, refs/ and .locks/<repo>/; a cache directory that
  // cannot be written is an io error naming it.
  Status prepare() const;

 private:
  std::filesystem::path root_;
  std::string repo_id_;
  RepoType type_;
};

// An exclusive flock(2) on a lock file such as .locks/<repo>/<etag>.lock (mode
// 0664 so group members can wait on it, never deleted), released when this
// object dies or the process exits, so a crashed holder never blocks the next
// one. It only de-duplicates work: where flock is unsupported the lock is held
// without being enforced(), and where it silently succeeds for everyone (some
// network file systems) correctness still holds, because writers use unique
// temp files, rename atomically and check for the blob again after locking.
class BlobLock {
 public:
  // Waits until the lock is free.
  static Result<BlobLock> acquire(const std::filesystem::path& lock_file);
  // Tries once, without waiting; nullopt: another process holds it.
  static Result<std::optional<BlobLock>> try_acquire(const std::filesystem::path& lock_file);
  BlobLock(BlobLock&&) noexcept = default;
  BlobLock& operator=(BlobLock&&) noexcept = default;
  ~BlobLock() = default;  // closing the descriptor releases the lock

  bool enforced() const { return enforced_; }  // false: flock does nothing on this file system

 private:
  BlobLock(UniqueFd fd, bool enforced) : fd_(std::move(fd)), enforced_(enforced) {}
  static Result<std::optional<BlobLock>> lock(const std::filesystem::path& lock_file, bool wait);
  UniqueFd fd_;
  bool enforced_ = true;
};

// A fresh blobs/<etag>.<8 hex>.incomplete, created O_EXCL with the umask's mode
// (Python's tools recognise the suffix). Deleted on destruction unless published.
class TempBlob {
 public:
  static Result<TempBlob> create(const std::filesystem::path& blobs_dir, std::string_view etag);
  TempBlob(TempBlob&& other) noexcept;
  TempBlob& operator=(TempBlob&&) = delete;
  ~TempBlob();

  int fd() const { return fd_.get(); }
  const std::filesystem::path& path() const { return path_; }
  // fsyncs, closes and renames onto `final_path` atomically.
  Status publish(const std::filesystem::path& final_path);

 private:
  TempBlob(std::filesystem::path path, UniqueFd fd) : path_(std::move(path)), fd_(std::move(fd)) {}
  std::filesystem::path path_;
  UniqueFd fd_;
  bool published_ = false;
};

}  // namespace hubload
#pragma GCC visibility pop
