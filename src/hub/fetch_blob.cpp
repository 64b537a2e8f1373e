#include "hub/fetch_blob.h"

#include <chrono>
#include <thread>

#include <fmt/format.h>

#include "hub/blob_hasher.h"
#include "hubload/cache.h"
#include "hubload/file.h"
#include "hubload/transfer.h"

namespace hubload::hub_internal {
namespace {

// One attempt: a fresh temp file, streamed, checked, published.
Status fetch_once(Transport& transport, const BlobFetch& fetch, BlobHasher& hasher) {
  HUBLOAD_ASSIGN_OR_RETURN(TempBlob temp, TempBlob::create(fetch.blobs_dir, fetch.etag));
  hasher.reset();
  std::uint64_t written = 0;
  HttpRequest request;
  request.method = "GET";
  request.url = fetch.url;
  request.headers = fetch.headers;
  request.connect_timeout_ms = fetch.connect_timeout_ms;
  request.stall_timeout_ms = fetch.stall_timeout_ms;
  const std::string temp_name = temp.path().string();
  request.sink = [&](std::span<const char> chunk) -> Status {
    if (written + chunk.size() > fetch.size) {
      return integrity_error(fmt::format("{}: server sent more than the expected {} bytes", fetch.url, fetch.size));
    }
    HUBLOAD_TRY(write_all(temp.fd(), std::as_bytes(chunk), temp_name));
    hasher.update(chunk);
    written += chunk.size();
    if (fetch.progress) fetch.progress(written, fetch.size);
    return ok();
  };
  HUBLOAD_ASSIGN_OR_RETURN(HttpResponse response, transport.send(request));
  if (response.status != 200) {
    if (response.status >= 500) {
      return network_error(fmt::format("GET {}: server error HTTP {}", fetch.url, response.status));
    }
    if (response.status == 429) {
      return Error(ErrorKind::rate_limited, fmt::format("GET {}: rate limited (HTTP 429, retry after {})", fetch.url,
                                                        response.headers.get("Retry-After").value_or("?")));
    }
    return network_error(fmt::format("GET {}: unexpected HTTP {}", fetch.url, response.status));
  }
  if (written != fetch.size) {
    return integrity_error(fmt::format("GET {}: file should be of size {} but has size {}", fetch.url, fetch.size,
                                       written));
  }
  HUBLOAD_TRY(hasher.verify(fmt::format("GET {}", fetch.url)));
  return temp.publish(fetch.blobs_dir / fetch.etag);
}

// The engine path: parallel ranges, resume from a journaled partial, hash while
// the bytes arrive, publish by rename. The caller already holds the Hub's blob
// lock (.locks/<repo>/<etag>.lock), so the engine takes none of its own.
Status fetch_with_engine(const BlobFetch& fetch) {
  TransferFile file;
  file.url = fetch.url;
  file.dest = (fetch.blobs_dir / fetch.etag).string();
  file.size = fetch.size;
  file.expected_hash = fetch.etag;
  file.lock_path = "-";
  for (const auto& [name, value] : fetch.headers.entries()) file.headers.push_back(name + ": " + value);
  TransferOptions options;
  options.connections = fetch.connections;
  options.budget = fetch.budget;
  options.connect_timeout = std::chrono::milliseconds(fetch.connect_timeout_ms);
  options.stall_timeout = std::chrono::milliseconds(fetch.stall_timeout_ms);
  options.max_attempts = std::max(1, fetch.max_retries + 1);
  options.backoff_base = std::chrono::milliseconds(std::max(1, fetch.retry_backoff_ms));
  if (fetch.progress) {
    options.on_event = [&fetch](const TransferEvent& e) {
      fetch.progress(e.file_bytes, e.file_size);
      return true;
    };
  }
  auto stats = download_files(std::span(&file, 1), options);
  if (!stats) return std::move(stats).error();
  return ok();
}

}  // namespace

Status fetch_blob(Transport& transport, const BlobFetch& fetch) {
  if (fetch.connections > 0) return fetch_with_engine(fetch);
  BlobHasher hasher(fetch.etag, fetch.size);
  int backoff_ms = fetch.retry_backoff_ms;
  for (int attempt = 0;; ++attempt) {
    Status status = fetch_once(transport, fetch, hasher);
    // Only transient failures are retried; an integrity error or a full disk is not.
    if (status || status.error().kind() != ErrorKind::network || attempt >= fetch.max_retries) {
      if (!status && attempt > 0) {
        return Error(status.error()).with_context(fmt::format("after {} attempts", attempt + 1));
      }
      return status;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(backoff_ms));
    backoff_ms *= 2;
  }
}

}  // namespace hubload::hub_internal
