// libFuzzer: the HTTP headers hubload parses itself on the client side. The
// input is a script of answers (fuzz/scripted_transport.h) for the metadata
// HEAD of one file, whose X-Repo-Commit, ETag/X-Linked-Etag, X-Linked-Size,
// Content-Length and Location are read by the real head_file; the first
// answer's Link, Retry-After and RateLimit go to their parsers too.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <cctype>
#include <string>
#include <string_view>

#include "hub/file_metadata.h"
#include "hub/hub_context.h"
#include "hub/repo_listing.h"
#include "hubload/cache.h"
#include "scripted_transport.h"
#include "transfer/retry_policy.h"

namespace {

bool is_etag_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
         c == '.';
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace hubload;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  HubOptions options;
  options.endpoint = "https://hub.example";
  options.cache_dir = "/nonexistent/hubload-fuzz-cache";
  options.no_token = true;
  options.transport = std::make_shared<fuzz::ScriptedTransport>(input);
  Result<hub_internal::HubContext> ctx = hub_internal::make_context("acme/tiny", options);
  if (!ctx) __builtin_trap();

  hub_internal::HeadOutcome head = hub_internal::head_file(*ctx, "main", "model.safetensors");
  if (head.metadata) {
    // The etag names a file in blobs/ and the commit a snapshot folder.
    const hub_internal::FileMetadata& meta = *head.metadata;
    if (!is_commit_hash(meta.commit) || meta.etag.empty() || meta.etag == "." || meta.etag == "..") __builtin_trap();
    for (char c : meta.etag) {
      if (!is_etag_char(c)) __builtin_trap();
    }
    // Schemes are case-insensitive (RFC 3986 3.1), and the client accepts "HTTPS://" as curl does.
    std::string scheme = meta.location.substr(0, meta.location.find("://") + 3);
    for (char& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (scheme != "http://" && scheme != "https://") __builtin_trap();
  }
  if (head.missing_at_commit && head.metadata) __builtin_trap();

  const HttpResponse first = fuzz::parse_scripted_answer(input.substr(0, input.find("\n---\n")));
  const std::string next = hub_internal::next_link(first.headers);
  if (auto link = first.headers.get("Link"); !next.empty() && (!link || link->find(next) == std::string::npos)) {
    __builtin_trap();  // the next URL is a piece of the header
  }
  for (const auto& [name, value] : first.headers.entries()) {
    if (auto wait = transfer_internal::parse_retry_after(value); wait && wait->count() < 0) __builtin_trap();
    if (auto reset = transfer_internal::parse_ratelimit_reset(value); reset && reset->count() < 0) __builtin_trap();
    (void)hub_internal::normalize_etag(value);
  }
  return 0;
}
