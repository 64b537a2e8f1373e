// Test data for the transfer engine's tests: reproducible random bytes and the
// two blob hashes (sha256, git blob sha1) computed independently of the engine's
// streaming path (whole buffer at once).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "hubload/transfer.h"

namespace hubload::testing {

std::string random_bytes(std::size_t n, unsigned seed);
std::string sha256_hex(std::string_view content);
std::string git_sha1_hex(std::string_view content);

// Options for small test files: 4 connections, 256 KiB chunks, millisecond
// backoff and a 10 ms journal.
TransferOptions fast_transfer_options();

// The file to fetch from `url` into `dest`, expected to hold exactly `content`.
TransferFile transfer_file(std::string url, std::string dest, std::string_view content);

}  // namespace hubload::testing
