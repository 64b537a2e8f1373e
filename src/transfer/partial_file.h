// The partial file a download writes into, and how a later run finds it again.
//
// Names: `<dest>.<8 hex>.incomplete` for the bytes and
// `<dest>.<8 hex>.journal.incomplete` for the journal (both end in .incomplete
// so huggingface_hub's cache tools treat them as orphans). The 8 hex are unique
// per writer, so no two processes ever write the same partial, even where flock
// silently succeeds for everyone.
//
// Adoption: a partial whose journal names a dead owner (same host and the pid is
// gone, or another host and the journal is older than `foreign_age`) and the
// same size and hash is claimed by renaming its journal to our own name (only one
// claimant's rename can succeed), then its data. Partials that do not match, and
// journal-less data older than `foreign_age`, are deleted.
//
// Unnamed (PartialOptions::unnamed): a file small enough that resuming it saves
// nothing worth a journal gets no partial name at all. Its bytes live in an
// unnamed inode (O_TMPFILE) that publish() links into place, so a crash leaves
// nothing behind, and no journal is written, renamed or deleted for it (on a
// busy ext4, every deleted inode slows the next ones' allocation).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <set>
#include <string>

#include "hubload/error.h"
#include "hubload/file.h"
#include "transfer/journal.h"
#include "transfer/range_set.h"

namespace hubload::transfer_internal {

// The file name a partial (and the engine's own lock) is named after: `name`
// itself, or, where "<name>.<8 hex>.journal.incomplete.tmp" would pass the 255-byte
// limit of a file name, its start and a hash of the whole.
std::string partial_stem(const std::string& name);

// The stems that have a partial (data or journal) in `dir` now; empty if the
// folder does not exist. Read once for many files, it spares each open() a
// read of a folder that may hold thousands of blobs.
std::set<std::string> partial_stems_in(const std::filesystem::path& dir);

struct PartialOptions {
  std::chrono::seconds foreign_age{600};
  bool check_owner_alive = true;
  // This process holds the blob's lock (flock enforced, or the caller's own):
  // a partial left by an earlier call in this same process is adoptable.
  bool exclusive = false;
  // This boot's id; empty: the kernel's. Tests set another to play a reboot.
  std::string boot_id;
  // No partial name and no journal where the file system allows it (above);
  // a dead owner's partial that fits is still adopted, under its name.
  bool unnamed = false;
  // False: the caller has seen no partial of this name in the folder
  // (partial_stems_in), so the folder is not read again for this file.
  bool scan = true;
};

class PartialFile {
 public:
  // Opens (adopting a dead owner's partial if one fits) the partial for `dest`.
  static Result<PartialFile> open(const std::string& dest, std::uint64_t size, const std::string& hash,
                                  const PartialOptions& options);

  int fd() const { return fd_.get(); }
  const std::string& data_path() const { return data_path_; }
  // Empty for an unnamed partial, which keeps no journal.
  const std::string& journal_path() const { return journal_path_; }
  // Bytes of an adopted partial to keep: its synced ranges, and its written
  // ones too if the machine has not rebooted since (journal.h).
  const RangeSet& adopted() const { return adopted_; }
  // Of those, the synced ones.
  const RangeSet& adopted_synced() const { return adopted_synced_; }
  // A journal owned by this process (and boot) claiming `synced` as synced and
  // `written` as written.
  Journal journal(const RangeSet& synced, const RangeSet& written = {}) const;

  // Drops every byte (restart from scratch): saves an empty journal first, then
  // truncates, so a crash in between never leaves a journal claiming lost bytes.
  Status reset();
  // Renames the data into `dest` (atomic) and deletes the journal.
  Status publish(const std::string& dest);
  // Deletes data and journal (a corrupt download).
  void discard();

 private:
  PartialFile() = default;
  UniqueFd fd_;
  std::string data_path_;
  std::string journal_path_;
  std::uint64_t size_ = 0;
  std::string hash_;
  RangeSet adopted_;
  RangeSet adopted_synced_;
  std::string boot_id_;
  bool unnamed_ = false;
};

// The kernel's id for this boot (/proc/sys/kernel/random/boot_id); empty if
// unreadable.
std::string current_boot_id();

// This host's name as written in journals.
std::string local_host_name();

}  // namespace hubload::transfer_internal
