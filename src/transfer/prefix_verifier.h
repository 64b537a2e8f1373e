// One background thread per file being fetched. It hashes the contiguous prefix
// of the partial file as it grows (reading back from the page cache with pread),
// so hashing overlaps the transfer instead of following it, and it brings the
// resume journal up to date off the transfer thread (fdatasync of the data, then
// an atomic journal replace), because fdatasync can block for a while.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "hubload/error.h"
#include "transfer/content_hasher.h"
#include "transfer/journal.h"

namespace hubload::transfer {

class PrefixVerifier {
 public:
  // `fd` is the partial file (not owned; must outlive this object). `hasher` is
  // absent when there is no hash to check.
  PrefixVerifier(int fd, std::string data_path, std::uint64_t size, std::optional<ContentHasher> hasher,
                 std::string journal_path);
  ~PrefixVerifier();  // stops the thread (pending journal work is still saved)
  PrefixVerifier(const PrefixVerifier&) = delete;
  PrefixVerifier& operator=(const PrefixVerifier&) = delete;

  // Bytes [0, prefix) are written; hash up to there.
  void set_prefix(std::uint64_t prefix);
  // Save this journal (every range in it already written) once the data is synced.
  void post_journal(Journal journal);
  // Waits until the whole size is hashed and pending journal work is done;
  // returns the hex digest ("" without a hasher) or the first I/O error.
  Result<std::string> finish();

 private:
  void run();

  int fd_;
  std::string data_path_;
  std::uint64_t size_;
  std::optional<ContentHasher> hasher_;
  std::string journal_path_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::uint64_t prefix_ = 0;         // guarded by mu_
  std::optional<Journal> pending_;   // guarded by mu_
  std::atomic<bool> stop_{false};
  bool done_hashing_ = false;        // guarded by mu_
  bool idle_ = true;                 // guarded by mu_: no journal being saved
  std::optional<Error> error_;       // guarded by mu_
  std::string digest_;               // guarded by mu_
  std::thread thread_;
};

}  // namespace hubload::transfer
