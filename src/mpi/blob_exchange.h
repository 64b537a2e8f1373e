// Moving blobs between node leaders: every transfer of the plan at once, each
// as a pipeline of chunks (exchange_wire.h: a header, then ceil(size / chunk)
// messages and a trailer, tagged with the transfer's number), while a thread
// fetches this node's share from the Hub. A blob being fetched is sent while
// it downloads, each chunk as soon as the transfer engine has written it.
// Receivers write a partial blob, hash it as it arrives, and publish it through
// the cache component only when the hash matches. Private to src/mpi; only node
// leaders call it, and only this (their MPI) thread makes MPI calls.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "hubload/cache.h"
#include "hubload/error.h"
#include "hubload/mpi.h"
#include "hubload/transfer.h"
#include "mpi/blob_plan.h"
#include "mpi/topology.h"

namespace hubload::mpi_internal {

// This node's share of the Hub download, and what the fetch thread wants to
// hear of it while it runs. Index k is share.blobs[k] throughout.
struct HubShare {
  std::vector<const Blob*> blobs;  // in plan order
  // How far blob k's partial is written (TransferOptions::on_prefix, with
  // file_index k), so that it is sent on while it downloads.
  PrefixCallback on_prefix;
  // Blob k is over: nullopt once it is published, else why it failed. A blob
  // stopped because `stop` said so ends with ErrorKind::cancelled.
  std::function<void(std::size_t, std::optional<Error>)> on_end;
  // True once the rest of the share is not wanted (an error somewhere in the
  // job): the fetch stops, keeping its partials for a rerun.
  std::function<bool()> stop;
};

struct ExchangeSetup {
  const Topology* topology = nullptr;  // a leader's: `leaders` is the communicator used
  const std::vector<Blob>* blobs = nullptr;
  const std::vector<BlobTransfer>* plan = nullptr;
  const RepoCache* cache = nullptr;  // this node's
  // Fetches this node's Hub share into its cache (the Hub client and its
  // transfer engine, one call for the whole share as a plain download makes);
  // called once, on the fetch thread.
  std::function<Status(const HubShare&)> fetch_share;
  std::uint64_t chunk_size = 8ull << 20;
  int window = 4;
  // Transfers this leader sends at once (each holds window × chunk_size bytes
  // here and at each receiver): bounded memory whatever the number of blobs.
  // Blobs sent while they download come on top: at most the engine's open
  // files (DownloadOptions::max_workers) at a time.
  int max_sending = 4;
  // Bytes of this node's Hub share fetched so far (the fetch thread counts them).
  const std::atomic<std::uint64_t>* hub_done = nullptr;
  int progress_tag = 0;  // a tag no transfer uses
  std::function<void(const JobProgress&)> on_progress;  // node 0's leader only
};

struct ExchangeOutcome {
  Status status = ok();     // an own error is not yet located (agree() names the rank)
  bool secondary = false;  // the error was learnt from another node, located there
  std::uint64_t hub_bytes = 0;     // blob bytes this node fetched from the Hub
  std::uint64_t fabric_bytes = 0;  // blob bytes this node sent (once per receiver)
  // Of those, the bytes sent while the blob's Hub download still ran.
  std::uint64_t streamed_bytes = 0;
  std::uint64_t fabric_received = 0;
  // Blob bytes this node's partials from an earlier run already held (not sent again).
  std::uint64_t fabric_resumed = 0;
  std::size_t blobs_from_hub = 0;
  std::size_t blobs_received = 0;
};

// Runs this leader's part of the plan to the end: every transfer it sends or
// receives completes (with bytes or with an error header), so no peer is left
// waiting. A leader's first own error goes to every other leader at once (a
// notice); from then on the Hub fetches stop everywhere (their partials are
// kept for a rerun) and the transfers not yet started carry the error instead.
ExchangeOutcome exchange_blobs(const ExchangeSetup& setup);

}  // namespace hubload::mpi_internal
