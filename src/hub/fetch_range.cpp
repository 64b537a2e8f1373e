// A byte range of one repo file, for header-only reads of remote safetensors.
#include <fmt/format.h>

#include "hub/file_metadata.h"
#include "hub/range_get.h"

namespace hubload {
namespace {

constexpr std::uint64_t kMaxRangeBytes = 64ull << 20;

}  // namespace

Result<std::string> fetch_file_range(std::string_view repo_id, std::string_view path, ByteRange range,
                                     const HubOptions& options) {
  using namespace hub_internal;
  HUBLOAD_TRY(validate_repo_file_path(path));
  if (range.last && *range.last < range.first) {
    return invalid_input(fmt::format("byte range {}-{} of {} is empty", range.first, *range.last, path));
  }
  if (!range.last || *range.last - range.first + 1 > kMaxRangeBytes) {
    return invalid_input(fmt::format("byte range of {} must be bounded and at most {} bytes", path, kMaxRangeBytes));
  }
  HUBLOAD_ASSIGN_OR_RETURN(HubContext ctx, make_context(repo_id, options));
  if (ctx.offline) {
    return Error(ErrorKind::offline, fmt::format("reading bytes of {} in {} needs the network, and offline mode is on",
                                                 path, repo_id));
  }
  const std::string url = resolve_url(ctx, options.revision, path);
  // A server that ignores Range is read only up to the range's end, then cut off.
  HUBLOAD_ASSIGN_OR_RETURN(RangeBytes got, get_range(ctx, url, range.first, *range.last, {}));
  return std::move(got.bytes);
}

}  // namespace hubload
