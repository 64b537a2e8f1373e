// One remote safetensors header, read with bounded Range requests
// (hub-protocol.md §16 steps 2-5). Private to src/remote.
#pragma once

#include <string>
#include <string_view>

#include "hub/hub_context.h"
#include "hubload/remote_metadata.h"
#include "hubload/safetensors.h"

namespace hubload::remote_internal {

struct RemoteHeader {
  SafetensorsHeader header;
  std::string json;  // the header's N bytes as sent, for the metadata cache
  bool server_ignored_range = false;
};

// Reads and strictly validates the header of `path` at `commit`: bytes
// [0, first_read_bytes), then [8, 8+N) only when the header is longer. Never
// keeps more than the bytes it asked for, even from a server that ignores Range.
Result<RemoteHeader> fetch_remote_header(const hub_internal::HubContext& ctx, std::string_view commit, std::string_view path,
                                         const RemoteMetadataOptions& options);

}  // namespace hubload::remote_internal
