// The resume journal: a small text sidecar next to a partial file saying which
// byte ranges of it are on disk, for which file (size, hash) and by which owner
// (host, pid, boot), so a later run can adopt it.
//
// Two claims, because a kill -9 and a power cut lose different things:
// - `ranges`: bytes synced to the device (prefix_verifier.h), valid after a
//   reboot as well;
// - `written`: bytes written into the page cache, valid only while the machine
//   has not rebooted since (same `boot_id`): a killed process's writes survive
//   it, a crashed kernel's may not.
// The journal is saved by writing a temporary file, fsyncing it and renaming it
// over the old one. So a journal on disk never claims bytes that were not
// written, whatever moment a kill -9 hits; after a power cut, the full-file
// hash is the last guard.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "hubload/error.h"
#include "transfer/range_set.h"

namespace hubload::transfer_internal {

struct Journal {
  std::uint64_t size = 0;
  std::string hash;
  std::string host;
  long pid = 0;
  std::string boot_id;             // empty: unknown, `written` is never trusted
  std::vector<ByteRange> ranges;   // synced
  std::vector<ByteRange> written;  // in the page cache of boot `boot_id` (includes `ranges`)
  friend bool operator==(const Journal&, const Journal&) = default;
};

std::string encode_journal(const Journal& j);
// Rejects anything malformed, truncated, or with ranges outside [0, size) or out
// of order: an invalid_input error naming `source`.
Result<Journal> decode_journal(std::string_view text, std::string_view source);

// Atomically replaces `path` (temporary file + fsync + rename). The fsync only
// where the journal claims synced bytes: written claims hold until a reboot,
// and a reboot voids them anyway (the boot id), so a power cut can lose such a
// journal without losing a claim that counts; a later run then treats the
// partial as a dead owner's and cleans it up. Each file of a download saves
// one at its start: an fsync there made small files wait for the disk.
Status save_journal(const std::string& path, const Journal& j);
Result<Journal> load_journal(const std::string& path);

}  // namespace hubload::transfer_internal
