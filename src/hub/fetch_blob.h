// THE blob byte transfer: GET one file into a unique temp file in blobs/,
// verify size and hash while streaming, publish blobs/<etag> atomically.
// The only place file bytes cross the network; the parallel ranged transfer
// engine (transfer.h) replaces this body, keeping the signature.
// The caller holds the blob lock and has checked the blob is not there yet.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

#include "hubload/error.h"
#include "hubload/transfer.h"
#include "hubload/transport.h"

namespace hubload::hub_internal {

struct BlobFetch {
  std::string url;      // the CDN Location or the resolved Hub URL
  HttpHeaders headers;  // Authorization only when `url` is on the Hub's own host
  std::string etag;     // normalised; the blob name, and the hash to verify
  std::uint64_t size = 0;
  std::filesystem::path blobs_dir;
  std::function<void(std::uint64_t done, std::uint64_t total)> progress;
  int connect_timeout_ms = 10000;
  int stall_timeout_ms = 30000;
  int max_retries = 3;        // on network errors and 5xx; each retry restarts from 0
  int retry_backoff_ms = 1000;
  // > 0: fetch with the parallel ranged transfer engine (transfer.h) over this
  // many connections instead of one stream through `transport`. The Hub passes
  // 0 when a test injected its own Transport, so that seam keeps working.
  int connections = 0;
  // Shared with the other blobs of the same download (may be null).
  std::shared_ptr<ConnectionBudget> budget;
};

// Publishes blobs_dir/etag or fails leaving nothing behind (no partial blob).
Status fetch_blob(Transport& transport, const BlobFetch& fetch);

}  // namespace hubload::hub_internal
