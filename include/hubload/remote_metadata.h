// Header-only metadata of a Hub repo's safetensors checkpoint
// (hub-protocol.md §16, safetensors.md §8.3): names, dtypes, shapes and exact
// offsets of every tensor, read with HTTP Range requests of each shard's first
// bytes, so a model can be inspected and planned without downloading weights.
//
// Each header gets the same strict validation as a local file (parse_header),
// with the Hub's 25 MB header cap and the file size the server reports.
// Results are cached per commit inside the repo's cache folder (see
// remote_metadata_cache.h for why there), so asking again makes no request.
#pragma once
#pragma GCC visibility push(default)  // public API: exported by the shared libraries (see CMake)

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "hubload/error.h"
#include "hubload/hub.h"
#include "hubload/safetensors.h"

namespace hubload {

struct RemoteMetadataOptions {
  // Endpoint, revision, token, cache, transport, offline mode: as for downloads.
  HubOptions hub;
  // The first Range request asks for bytes [0, first_read_bytes); a second
  // request is made only when the header is longer (100 001 bytes in Python).
  std::uint64_t first_read_bytes = 100'001;
  // Headers above this are refused (SAFETENSORS_MAX_HEADER_LENGTH of the Hub clients).
  std::uint64_t max_header_bytes = 25'000'000;
  // Without it, a branch or tag resolves to the commit the last call recorded
  // for it, so a repeated call makes no request; with it, the Hub is asked.
  bool refresh = false;
};

struct RemoteSafetensors {
  std::string repo_id;
  std::string commit;  // 40 hex
  // The validated checkpoint: root is the /resolve URL of the commit
  // (".../resolve/<commit>"), index_file the index's URL when the repo is
  // sharded, shard_files repo paths (relative to root, as for a folder).
  Checkpoint checkpoint;
  bool from_cache = false;            // no request was made
  std::uint64_t bytes_received = 0;   // response body bytes of this call (headers, index)
  int requests = 0;                   // HTTP requests of this call, redirects included
  bool server_ignored_range = false;  // a 200 answered a Range request (reading was cut short)
};

// repo_id's `model.safetensors`, else its `model.safetensors.index.json` and
// the shards it names. Errors: not_found (repo, revision, neither file, a
// shard the index names that the server lacks: naming the URL), invalid_input
// (a header over the cap, longer than its file, or malformed: naming the URL),
// offline (offline mode and nothing cached), and the Hub's usual kinds.
Result<RemoteSafetensors> remote_safetensors_metadata(std::string_view repo_id,
                                                      const RemoteMetadataOptions& options);

}  // namespace hubload
#pragma GCC visibility pop
