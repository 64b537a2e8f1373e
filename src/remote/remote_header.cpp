#include "remote/remote_header.h"

#include <cstring>

#include <fmt/format.h>

#include "hub/file_metadata.h"
#include "hub/range_get.h"

namespace hubload::remote_internal {
using namespace hub_internal;
namespace {

std::span<const std::byte> as_bytes(std::string_view s) { return std::as_bytes(std::span(s.data(), s.size())); }

}  // namespace

Result<RemoteHeader> fetch_remote_header(const hub_internal::HubContext& ctx, std::string_view commit, std::string_view path,
                                         const RemoteMetadataOptions& options) {
  const std::string url = resolve_url(ctx, commit, path);
  const std::uint64_t first_read = std::max<std::uint64_t>(options.first_read_bytes, 8);
  HUBLOAD_ASSIGN_OR_RETURN(RangeBytes head, get_range(ctx, url, 0, first_read - 1, {}));
  RemoteHeader out;
  out.server_ignored_range = head.server_ignored_range;
  std::uint64_t file_size = 0;
  if (head.file_size) {
    file_size = *head.file_size;
  } else {  // neither Content-Range nor X-Linked-Size said it: ask with HEAD
    HeadOutcome meta = head_file(ctx, commit, path);
    if (!meta.metadata) return std::move(meta.metadata).error();
    file_size = meta.metadata->size;
  }
  if (head.bytes.size() < 8) {
    return invalid_input(fmt::format("{}: the file is {} bytes, too short for a safetensors header", url,
                                     head.bytes.size()));
  }
  ReaderOptions reader;
  reader.max_header_bytes = options.max_header_bytes;
  HUBLOAD_ASSIGN_OR_RETURN(std::uint64_t n, parse_header_length(as_bytes(head.bytes).first(8), file_size, reader, url));
  std::string prefix = std::move(head.bytes);
  if (prefix.size() < 8 + n) {
    prefix.resize(8);
    HUBLOAD_ASSIGN_OR_RETURN(RangeBytes rest, get_range(ctx, url, 8, 8 + n - 1, prefix));
    out.server_ignored_range = out.server_ignored_range || rest.server_ignored_range;
    if (rest.bytes.size() != n) {
      return invalid_input(fmt::format("{}: asked for the {}-byte header, the server sent {} bytes", url, n,
                                       rest.bytes.size()));
    }
    prefix += rest.bytes;
  }
  HUBLOAD_ASSIGN_OR_RETURN(out.header, parse_header(as_bytes(prefix), file_size, reader, url));
  out.json = prefix.substr(8, n);
  return out;
}

}  // namespace hubload::remote_internal
