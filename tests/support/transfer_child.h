// A download in a process of its own, for the crash and race tests. The child is
// a separate program started with posix_spawn, not a bare fork() of the test:
// the test is multithreaded (its origin server's threads), and a forked copy can
// inherit a lock one of those threads held at that instant (the allocator's,
// under ASan) and hang for ever.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "hubload/transfer.h"

namespace hubload::testing {

// The child program's arguments for `file`, and back.
std::vector<std::string> child_arguments(const TransferFile& file);
std::optional<TransferFile> file_from_child_arguments(int argc, char** argv);

// Starts `program` with the arguments for `file`; returns its pid, or -1.
pid_t spawn_transfer_child(const std::string& program, const TransferFile& file);

// The child's exit code; -1 if it died of a signal, or if it ran past `limit`
// (it is then killed, so a hang fails the test instead of timing it out).
int wait_child(pid_t pid, std::chrono::milliseconds limit);

}  // namespace hubload::testing
