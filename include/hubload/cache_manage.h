// Managing a whole Hub cache (docs/cache.md): what is in it (scan_cache), whether
// its blobs still match their names (verify_cache, verify_online), and what may
// go (delete_revisions, prune_cache: plans that are shown, then executed).
//
// Blob names are content hashes (hub-protocol.md §4), so verification needs no
// network: sha256 for a 64-hex name, the git blob sha1 for a 40-hex name.
// Nothing here prints; inconsistencies become warnings, not failures.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "hubload/cache.h"
#include "hubload/error.h"
#include "hubload/hub.h"

#pragma GCC visibility push(default)  // public API: exported by the shared libraries (see CMake)

namespace hubload {

// ---- scan -------------------------------------------------------------------

struct CachedFile {
  std::string path;                   // repo path, '/'-separated
  std::string blob;                   // blob name; empty when the snapshot holds a real file
  std::filesystem::path blob_path;    // what is hashed and sized (the snapshot file itself without a blob)
  std::uint64_t size = 0;
};

struct CachedRevision {
  std::string commit;
  std::filesystem::path snapshot;
  std::vector<std::string> refs;      // refs naming this commit ("main", "refs/pr/1")
  std::vector<CachedFile> files;      // sorted by path; dangling links are left out (and warned about)
  std::vector<std::string> dangling;  // repo paths whose link points to a missing blob
  std::uint64_t size = 0;             // its distinct blobs, each once
  std::int64_t last_modified = 0;     // unix seconds: the snapshot folder's mtime
  bool detached() const { return refs.empty(); }
};

// A partial download in blobs/: `<etag>[.<8 hex>].incomplete` with, for
// hubload's transfers, `<etag>.<8 hex>.journal.incomplete` naming its owner.
struct CachedPartial {
  std::filesystem::path data;                  // may be absent when only a journal is left
  std::optional<std::filesystem::path> journal;
  std::string etag;
  std::uint64_t size = 0;                      // data + journal bytes
  bool stale = false;                          // owner dead, or older than the adoption window
  std::string reason;                          // why it is (or is not) stale
};

struct CachedRepo {
  std::string id;
  RepoType type = RepoType::model;
  std::filesystem::path dir;
  std::vector<CachedRevision> revisions;       // sorted by commit
  std::map<std::string, std::string> refs;     // ref -> commit (also refs to missing snapshots)
  std::uint64_t size = 0;                      // blobs linked by any snapshot, each once
  std::size_t files = 0;                       // those blobs (a file shared by revisions counts once)
  std::int64_t last_accessed = 0;              // unix seconds, newest atime of those blobs
  std::int64_t last_modified = 0;              // unix seconds, newest mtime of those blobs
  std::vector<std::filesystem::path> orphan_blobs;  // in blobs/, linked by no snapshot
  std::uint64_t orphan_size = 0;
  std::vector<CachedPartial> partials;

  // Bytes a prune frees: blobs only detached revisions link to, orphan blobs,
  // stale partials.
  std::uint64_t reclaimable = 0;
  std::string display_id() const;              // "model/org/name"
};

struct CacheScan {
  std::filesystem::path root;
  std::vector<CachedRepo> repos;               // sorted by type, then id
  std::vector<std::string> warnings;           // what is inconsistent, naming the path
  std::uint64_t size = 0;
  std::uint64_t reclaimable = 0;
};

struct ScanOptions {
  // A partial with no living owner on this host is stale; one whose owner is on
  // another host (or unknown) is stale once untouched this long (transfer's
  // adoption window, PartialOptions::foreign_age).
  std::chrono::seconds adoption_window{600};
};

// Reads the cache at `root`. A root that is missing or not a folder is
// not_found / invalid_input; everything below it that is odd is a warning.
Result<CacheScan> scan_cache(const std::filesystem::path& root, const ScanOptions& options = {});

// ---- ls filters and sorting ---------------------------------------------------

// `size>1GB`, `type=model`, `accessed>7d`, `modified<30d`, `refs=main`: keys
// size (B, KB, MB, GB, TB: powers of 1000; KiB..TiB: of 1024), type, accessed and
// modified (an age in s, m, h, d, w; `accessed>7d` = not accessed for more than
// 7 days), refs (= or !=). Operators = != > >= < <=.
struct RepoFilter {
  std::string key;
  std::string op;
  std::string text;
  std::int64_t number = 0;  // bytes or seconds
};
Result<RepoFilter> parse_repo_filter(std::string_view expr);
bool repo_matches(const CachedRepo& repo, const RepoFilter& filter, std::int64_t now_unix);

// `accessed`, `modified`, `name`, `size`, with `:asc` or `:desc` (default: desc
// for accessed, modified and size, asc for name).
struct RepoSort {
  std::string key = "name";
  bool descending = false;
};
Result<RepoSort> parse_repo_sort(std::string_view expr);
void sort_repos(std::vector<const CachedRepo*>& repos, const RepoSort& sort);

// ---- verify -------------------------------------------------------------------

struct VerifyOptions {
  std::optional<std::string> repo;      // "org/name", "model/org/name", "dataset/org/name"; all without
  std::optional<std::string> revision;  // a ref or a commit; every revision without
  int threads = 0;                      // 0: the hardware's
  // Moves each corrupt blob to <repo>/.quarantine/<blob> (never deletes it), so
  // the snapshot links dangle and the next download fetches it again.
  bool fix = false;
};

struct BlobProblem {
  std::string repo;                     // display id
  std::filesystem::path blob;
  std::vector<std::string> files;       // "<commit>/<path>" entries that link to it
  std::string expected;                 // the blob name
  std::string actual;                   // empty when it could not be read
  std::string algorithm;                // "sha256" or "git-sha1"
  std::optional<Error> error;           // unreadable
  std::optional<std::filesystem::path> quarantined_to;
};

struct VerifyReport {
  std::size_t blobs = 0;                // distinct blobs hashed
  std::size_t files = 0;                // snapshot files they stand for
  std::uint64_t bytes = 0;
  double seconds = 0;
  std::vector<BlobProblem> mismatches;  // bytes do not match the name
  std::vector<BlobProblem> unreadable;  // could not be read (with the error)
  std::vector<std::string> missing;     // "<repo> <commit>/<path>": a dangling snapshot link
  std::vector<std::string> warnings;    // dangling links, files without a hash name
  double bytes_per_second() const { return seconds > 0 ? static_cast<double>(bytes) / seconds : 0; }
  bool ok() const { return mismatches.empty() && unreadable.empty() && missing.empty(); }
};

// Selects the revisions `options` names (not_found for an unknown repo or
// revision) and hashes each blob once, on `threads` threads.
Result<VerifyReport> verify_cache(const CacheScan& scan, const VerifyOptions& options);

// Compares one cached revision with the Hub's listing of that commit
// (fetch_repo_info): files missing locally, files not on the Hub, files whose
// blob name is not the Hub's hash for them.
struct OnlineDifference {
  std::string repo;
  std::string commit;
  std::vector<std::string> missing;     // on the Hub, not in the cache
  std::vector<std::string> extra;       // in the cache, not on the Hub
  struct Changed {
    std::string path, cached, hub;
  };
  std::vector<Changed> changed;
  std::optional<Error> error;           // the listing could not be fetched (the others still are)
  bool ok(bool fail_on_missing, bool fail_on_extra) const {
    return !error && changed.empty() && (!fail_on_missing || missing.empty()) && (!fail_on_extra || extra.empty());
  }
};
// Every revision `options` selects; `hub` gives the endpoint, token, transport.
// Only a selection that names nothing cached is an error.
Result<std::vector<OnlineDifference>> verify_online(const CacheScan& scan, const VerifyOptions& options,
                                                   const HubOptions& hub);

// ---- delete and prune -----------------------------------------------------------

struct DeletePlan {
  struct RepoPart {
    std::string repo;                              // display id
    std::filesystem::path dir;                     // the repo folder
    std::filesystem::path locks_dir;               // .locks/<repo folder>
    std::vector<std::string> commits;              // revisions that go
    std::vector<std::filesystem::path> snapshots;
    std::vector<std::filesystem::path> refs;
    // What else belongs to a commit that goes: .no_exist/<commit>/, trees/<commit>.json.
    std::vector<std::filesystem::path> metadata;
    std::vector<std::string> blobs;                // blob names no remaining snapshot links to
    std::vector<CachedPartial> partials;           // stale ones only
    bool whole_repo = false;                       // nothing remains: the folder goes too
    std::uint64_t freed = 0;
  };
  std::vector<RepoPart> repos;
  std::uint64_t freed = 0;
  bool empty() const { return repos.empty(); }
};

// TARGETS: repo ids ("org/name", "model/org/name", "dataset/org/name") for every
// revision of the repo, or commits (full, or a unique prefix of at least 7).
// An unknown target is a not_found error naming it.
Result<DeletePlan> delete_revisions(const CacheScan& scan, const std::vector<std::string>& targets);

// Detached revisions, orphan blobs and stale partials (with their journals).
DeletePlan prune_cache(const CacheScan& scan);

struct DeleteOutcome {
  std::size_t revisions = 0;
  std::size_t blobs = 0;
  std::size_t partials = 0;
  std::uint64_t freed = 0;
  // Blobs and partials left in place, with why: a live download holds their
  // lock, or a snapshot linked to them meanwhile.
  std::vector<std::string> skipped;
  std::vector<std::string> errors;  // deletions that failed (the rest went on)
};

// Executes `plan`: per repo, takes every blob's lock without waiting (a held
// lock means a live download: that blob is skipped), removes refs and snapshot
// folders, then removes the planned blobs that no snapshot links to now.
DeleteOutcome execute_delete(const DeletePlan& plan);

}  // namespace hubload

#pragma GCC visibility pop
