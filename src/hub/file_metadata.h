// The metadata HEAD on /resolve (hub-protocol.md §2): commit, etag, size and
// where the bytes are, read from the Hub's own answer (a 302 to a CDN included).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "hub/hub_context.h"

namespace hubload::hub_internal {

struct FileMetadata {
  std::string commit;    // X-Repo-Commit
  std::string etag;      // normalised X-Linked-Etag, else ETag: the blob name
  std::uint64_t size = 0;
  std::string location;  // where to GET: the CDN Location, or the resolved Hub URL
};

struct HeadOutcome {
  Result<FileMetadata> metadata;
  // On an EntryNotFound answer, the commit it named (for .no_exist).
  std::optional<std::string> missing_at_commit;
};

HeadOutcome head_file(const HubContext& ctx, std::string_view revision, std::string_view path);

// Follows relative redirects (same host, path replaced, query dropped) up to
// kMaxRelativeRedirects; returns the first non-relative-redirect answer and the
// URL it came from.
struct Answer {
  HttpResponse response;
  std::string url;
};
Result<Answer> send_following_relative(const HubContext& ctx, HttpRequest request);

// `W/"abc"` → `abc`.
std::string normalize_etag(std::string_view etag);

}  // namespace hubload::hub_internal
