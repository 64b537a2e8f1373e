// The transfer engine: fetches files over HTTP(S) into place, fast, resumably and
// verified.
//
// - Parallel byte ranges over a TransferSession of the Transport seam
//   (transport.h; libcurl's multi interface by default): one thread drives every
//   connection. All files of one call share ONE connection budget
//   (`connections`). When a connection frees up and no unassigned bytes are left,
//   the largest range still in flight is split in two (aria2-style) so one slow
//   connection never holds up the end of a file. A split stops a connection
//   early, and what the server had sent past it is fetched twice, so bytes no
//   connection has yet go first, and near the end of the call new ranges shrink
//   to an even share of what is left per connection, so that the connections
//   run out of work together and few splits are needed. With `max_connections` above
//   `connections` the count adapts to the rate (ConnectionBudget).
// - Every byte goes through a hasher before the file is published: sha256 for a
//   64-hex expected hash, the git blob sha1 for a 40-hex one. The file is renamed
//   into place only if hash and size match. A mismatch deletes the bytes, retries
//   once from scratch, then fails with ErrorKind::integrity naming both hashes.
// - Resume: bytes land in `<dest>.<8 hex>.incomplete` with a sidecar journal
//   `<dest>.<8 hex>.journal.incomplete` listing the byte ranges known to be on
//   disk. A later run adopts the partial of a dead owner (validated by its
//   journal) and fetches only what is missing.
// - Cross-process: a per-file flock (`lock`, `lock_path`; BlobLock in cache.h) de-duplicates work; correctness
//   never depends on it (unique partial names, claim by rename, atomic publish),
//   so file systems where flock silently succeeds stay safe.
// - Retries: connection errors, stalls, truncated bodies, 408/429/5xx are retried
//   with exponential backoff and jitter, honouring Retry-After and the Hub's
//   `RateLimit: "<policy>";r=<n>;t=<seconds>` header; a 429 or 503 also halves
//   the connection budget for a while. Attempts are bounded in count and in time,
//   each request by a minimum rate and a deadline (TransferOptions; every limit
//   is listed in docs/security.md).
// - Redirects are followed only to http(s), never from https down to http, and
//   the Authorization header never follows one to another host.
//
// Thread-safety: download_files() may be called from several threads at once;
// each call opens its own TransferSession. Callbacks run on the calling
// thread.
#pragma once
#pragma GCC visibility push(default)  // public API: exported by the shared libraries (see CMake)

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "hubload/error.h"
#include "hubload/transport.h"
#include "hubload/version.h"

namespace hubload {

// Who keeps two processes from fetching the same file at once. Correctness
// never depends on it (see above); it only saves the duplicated work.
enum class LockMode {
  own,       // the engine flocks `lock_path` (empty: `<dest>.lock`) around download and publish
  external,  // the caller already holds a lock for this file (e.g. the Hub cache's .locks/ file)
};

struct TransferFile {
  std::string url;
  std::filesystem::path dest;  // final path; published by atomic rename
  std::uint64_t size = 0;     // expected size in bytes (from the HEAD / tree listing)
  std::string expected_hash;  // 64 hex: sha256; 40 hex: git blob sha1; empty: size check only
  // Extra request headers (Authorization: only ever sent to `url`'s own host,
  // never after a redirect to another). Never logged.
  HttpHeaders headers;
  LockMode lock = LockMode::own;
  std::filesystem::path lock_path;  // LockMode::own only; empty: `<dest>.lock`
  std::string display_name;   // for progress and errors; empty = dest
};

enum class TransferEventKind { start, progress, done, retry, error, waiting };

struct TransferEvent {
  TransferEventKind kind = TransferEventKind::progress;
  std::size_t file_index = 0;       // index into the files span
  std::string name;                 // display name
  std::uint64_t file_bytes = 0;     // bytes of this file on disk (incl. resumed)
  std::uint64_t file_size = 0;
  std::uint64_t total_bytes = 0;    // bytes on disk over all files of the call
  std::uint64_t total_size = 0;
  std::uint64_t bytes_received = 0; // bytes received from the network by this call
  int connections = 0;              // connections open for this file
  int connection_limit = 0;         // the budget's count now (over all files)
  std::string message;              // retry / error reason
  std::optional<Error> error;       // kind error: why the file failed
};

// Return false to cancel the whole call (ErrorKind::cancelled; partials are kept
// for resume).
using TransferCallback = std::function<bool(const TransferEvent&)>;

// How far a file's partial is on disk from its first byte: bytes [0, prefix)
// are written (not yet verified: that happens once the whole file is). A file
// is begun again from byte 0 after a server ignored Range or a hash mismatch;
// each beginning is a new generation, and bytes read under an earlier one may
// not be those that get published.
struct TransferPrefix {
  std::size_t file_index = 0;
  std::filesystem::path partial;  // renamed onto the file's dest when published
  std::uint64_t prefix = 0;
  std::uint64_t generation = 0;  // 1 for the first beginning
};
using PrefixCallback = std::function<void(const TransferPrefix&)>;

namespace transfer_internal {
class AdaptiveLimit;
}

// One connection budget shared by everything one download fetches (every file
// of a Hub download, or several download_files() calls running at once), so
// that together they never open more than slots() connections. A call takes a
// slot just before it starts a request and gives it back when that request
// ends; it never waits for a slot while holding one, so calls sharing a budget
// cannot deadlock (a call with no slot simply starts nothing until another
// call frees one).
//
// Adaptive (ConnectionBudget(initial, max) with max > initial): slots() starts
// at `initial` and grows while the total rate of the bytes record()ed still
// rises with it, up to `max`; it sheds back where the rate did not rise, and
// halves on overloaded() (a 429 or 503). A shrinking budget closes nothing: it
// just hands out no slot until enough are given back. Thread-safe.
class ConnectionBudget {
 public:
  explicit ConnectionBudget(int slots) : ConnectionBudget(slots, slots) {}
  ConnectionBudget(int initial, int max);
  ~ConnectionBudget();
  ConnectionBudget(const ConnectionBudget&) = delete;
  ConnectionBudget& operator=(const ConnectionBudget&) = delete;

  // Takes a slot if one is free; never blocks.
  bool try_acquire();
  void release();
  // The count of connections allowed now (the chosen count), and its cap.
  int slots() const;
  int max_slots() const;
  // Bytes received by a user of the budget: the rate the count adapts to.
  void record(std::uint64_t bytes);
  // The server answered 429 or 503.
  void overloaded();

 private:
  mutable std::mutex mu_;
  int in_use_ = 0;
  std::uint64_t bytes_ = 0;
  std::unique_ptr<transfer_internal::AdaptiveLimit> limit_;
};

struct TransferOptions {
  // Connection budget for the call: the count it starts with. 8 matches
  // huggingface_hub's worker count.
  int connections = 8;
  // Above `connections`: the count adapts (ConnectionBudget), adding
  // connections while the total rate still rises with them, up to this cap.
  // At most `connections` (the default): a fixed count. CDNs pace each
  // connection (about 50 MB/s), so a cap of 16 is what reaches a fast link
  // (`hubload download --max-connections`, bench/RESULTS.md).
  int max_connections = 0;
  // Files open at once (each holds a lock, a partial, a journal and a hashing
  // thread). Zero: twice the connection cap, enough to keep every connection
  // busy with small files and few enough for a repo of thousands of files.
  int max_open_files = 0;
  // Upper bound of a first chunk; a file smaller than connections × chunk_size
  // is split evenly. Splits never produce ranges under min_split.
  std::uint64_t chunk_size = 64ull << 20;
  std::uint64_t min_split = 1ull << 20;
  // No bytes for this long aborts and retries the connection
  // (HF_HUB_DOWNLOAD_TIMEOUT: apply_hub_timeouts; 10 s as in huggingface_hub).
  std::chrono::milliseconds stall_timeout{10'000};
  // Fewer bytes than min_rate × stall_timeout in any stall_timeout window does
  // too: a server dripping a byte a second is as stuck as a silent one. Zero:
  // only silence counts.
  std::uint64_t min_rate = 1024;
  std::chrono::milliseconds connect_timeout{10'000};
  // No single request lives longer than this, however fast its bytes come
  // (a range request that is cut off resumes where it stopped).
  std::chrono::milliseconds request_deadline{600'000};
  // The whole metadata HEAD of a file on the Hub (HF_HUB_ETAG_TIMEOUT:
  // apply_hub_timeouts; 10 s as in huggingface_hub); other metadata requests
  // have request_deadline.
  std::chrono::milliseconds metadata_timeout{10'000};
  // A file fails after this many failed attempts in a row that brought no byte
  // beyond the most the file ever had on disk (bytes fetched again after a
  // restart do not count as progress) ...
  int max_attempts = 6;
  // ... or after this many failed attempts in all, progress or not ...
  int max_total_attempts = 100;
  // ... or when its failures have brought no new byte for this long (longer
  // than a few rate-limit waits of max_server_wait: the Hub's windows are 5 min).
  std::chrono::milliseconds retry_time_budget{900'000};
  std::chrono::milliseconds backoff_base{250};
  std::chrono::milliseconds backoff_max{10'000};
  // Cap on a server-requested wait (Retry-After / RateLimit t=).
  std::chrono::milliseconds max_server_wait{120'000};
  // How often progress events fire per call (start/done/retry/error always do).
  std::chrono::milliseconds progress_interval{100};
  // How often the resume journal is brought up to date. It claims the bytes
  // written so far (a kill -9 keeps them; they count until the machine
  // reboots) and, apart, the bytes synced to the device (they count after a
  // reboot too).
  std::chrono::milliseconds journal_interval{500};
  // Bytes are synced once they have been written this long and are 2 MiB away
  // from every connection's write position. Writing back while the download
  // runs costs a fifth of the throughput on a small machine (bench/RESULTS.md),
  // and the page cache absorbs a short download whole; a power cut loses at most
  // about this much of the download (the kernel itself keeps dirty data for up
  // to 30 s). Ctrl-C and errors sync everything.
  std::chrono::milliseconds sync_delay{5'000};
  // Partials of other, unreachable hosts older than this are adopted.
  std::chrono::seconds foreign_partial_age{600};
  std::string user_agent{kUserAgent};
  // Every request goes through it (a proxy, custom auth, a test's faults).
  // Null: libcurl (make_curl_transport()).
  std::shared_ptr<Transport> transport;
  // Shared with other calls running at the same time: every request of this
  // call also needs one of its slots, and the budget's count is what adapts.
  // Null: the call makes its own of `connections` / `max_connections`.
  std::shared_ptr<ConnectionBudget> budget;
  TransferCallback on_event;
  // Lets a consumer read a file while it downloads (the MPI mode sends it on
  // to other nodes): called on the calling thread when a file is begun and
  // each time its prefix grows. Only that thread renames the partial, so a file
  // opened inside the callback keeps reading the same bytes after the publish.
  // With it set, every partial has a name (none is an unnamed O_TMPFILE inode).
  PrefixCallback on_prefix;
};

struct TransferStats {
  std::uint64_t bytes_received = 0;  // from the network in this call
  std::uint64_t bytes_resumed = 0;   // already on disk, adopted
  std::size_t files_fetched = 0;
  std::size_t files_already_present = 0;
  std::size_t requests = 0;
  std::size_t retries = 0;
  int connections = 0;  // the budget's count at the end (the count it adapted to)
};

// Fetches every file, at most `connections` at a time over all of them. Returns
// the first error (after the others finished or were abandoned); files that
// completed stay published.
Result<TransferStats> download_files(std::span<const TransferFile> files,
                                     const TransferOptions& options);

// Hash of a whole file as named by the expected hash's length (64: sha256, 40:
// git blob sha1); lower-case hex. Used to re-verify a blob already on disk.
Result<std::string> hash_file_for_etag(const std::filesystem::path& path, std::size_t etag_length);

}  // namespace hubload
#pragma GCC visibility pop
