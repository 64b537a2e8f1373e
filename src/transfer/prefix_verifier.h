// One background thread per file being fetched (below: not for small ones). It hashes the contiguous prefix
// of the partial file as it grows, so hashing overlaps the transfer instead of
// following it, and it brings the resume journal up to date off the transfer
// thread, because syncing data can block for a while.
//
// Bytes written right at the end of the hashed prefix are hashed from the
// receive buffer by the writer (hash_written), never read back: a file fetched
// by one connection (every small file) is hashed without a second copy. The
// bytes other connections wrote ahead are read back by the thread through a
// read-only mapping of the page cache, not copied out with pread (the copy was
// an eighth of the client's cycles, bench/RESULTS.md "Hash speed").
//
// The journal's two claims (journal.h): written bytes are claimed at once (they
// survive a kill -9, not a reboot); synced bytes only once made durable with
// sync_file_range, and only bytes the engine says no connection writes near any
// more. Syncing the whole file (fdatasync) would put the pages at every
// connection's write frontier under writeback, and the next pwrite into such a
// page waits for the disk: that halved uncapped throughput (bench/RESULTS.md).
// Writeback of newly stable bytes is started at one journal update and waited
// for at the next, so the wait is usually already over. sync_file_range does not
// flush metadata; on ext4 the journal's own fsync commits the allocation with
// it. Where a crash of the machine still loses claimed bytes, the full-file hash
// catches it and the download restarts from scratch: a claimed byte is never
// published unchecked.
//
// Without a journal (an unnamed partial, partial_file.h: a file of one request)
// there is no thread: the receive buffers hash the file as it arrives, and
// finish() reads back whatever they did not cover. A thread per small file cost
// a repo of 1,000 files a start, a join and a wake-up per write, each a wait for
// the scheduler on a busy machine (bench/RESULTS.md, session 7).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "hubload/error.h"
#include "transfer/content_hasher.h"
#include "transfer/journal.h"
#include "transfer/range_set.h"

namespace hubload::transfer_internal {

class PrefixVerifier {
 public:
  // `fd` is the partial file (not owned; must outlive this object). `hasher` is
  // absent when there is no hash to check. `synced`: bytes the journal on disk
  // already claims as synced (an adopted partial's), kept so from the first save.
  PrefixVerifier(int fd, std::string data_path, std::uint64_t size, std::optional<ContentHasher> hasher,
                 std::string journal_path, RangeSet synced = {});  // journal_path "": no journal, no thread
  ~PrefixVerifier();  // stops the thread if any (pending journal work is still saved)
  PrefixVerifier(const PrefixVerifier&) = delete;
  PrefixVerifier& operator=(const PrefixVerifier&) = delete;

  // Bytes [0, prefix) are written; hash up to there.
  void set_prefix(std::uint64_t prefix);
  // Bytes [offset, offset + data.size()) were just written from `data`. If they
  // continue the hashed prefix and the thread is not reading, they are hashed
  // here, from `data`; returns whether they were.
  bool hash_written(std::uint64_t offset, std::span<const char> data);
  // The bytes of `journal.ranges` are written and stable: make them durable and
  // claim them as synced. Those claims lag by one call (see above) unless
  // `final` (no writer is left): then everything is synced and claimed now.
  // `journal.written` is claimed as written (journal.h) at once.
  void post_journal(Journal journal, bool final = false);
  // Waits until posted journal work is done (the journal on disk is current).
  void wait_idle();
  // Waits until the whole size is hashed and pending journal work is done;
  // returns the hex digest ("" without a hasher) or the first I/O error.
  Result<std::string> finish();

 private:
  void run();
  // Syncs and saves one posted journal (on the verifier thread).
  Status save(Journal journal, bool final);
  Status sync_range(ByteRange r, unsigned flags);
  // Hashes [from, to) of the file through a read-only mapping (pread where
  // mapping fails).
  Status hash_from_file(std::uint64_t from, std::uint64_t to, std::vector<std::byte>& buf);

  int fd_;
  std::string data_path_;
  std::uint64_t size_;
  std::optional<ContentHasher> hasher_;
  std::string journal_path_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::uint64_t prefix_ = 0;         // guarded by mu_
  // Bytes hashed: guarded by mu_, and changed by the thread only while
  // reading_ (hash_written leaves them alone then).
  std::uint64_t hashed_ = 0;
  bool reading_ = false;             // guarded by mu_
  std::optional<Journal> pending_;   // guarded by mu_
  bool pending_final_ = false;       // guarded by mu_
  // Owned by the verifier thread: bytes durable (claimable), bytes whose
  // writeback was started, whether sync_file_range works on this file system.
  RangeSet synced_;
  RangeSet started_;
  std::uint64_t claimed_ = ~0ull;          // synced bytes in the journal on disk
  std::uint64_t written_claimed_ = ~0ull;  // written bytes in it
  bool range_sync_ = true;
  std::atomic<bool> stop_{false};
  bool done_hashing_ = false;        // guarded by mu_
  bool idle_ = true;                 // guarded by mu_: no journal being saved
  std::optional<Error> error_;       // guarded by mu_
  std::string digest_;               // guarded by mu_
  std::thread thread_;  // not started without a journal
};

}  // namespace hubload::transfer_internal
