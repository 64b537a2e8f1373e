// The tensor-parallel plan of a Hub repo from its config.json and its remote
// safetensors headers (remote_metadata.h): no weights are downloaded.
#pragma once
#pragma GCC visibility push(default)  // public API: exported by the shared libraries (see CMake)

#include <string_view>

#include "hubload/plan.h"
#include "hubload/remote_metadata.h"

namespace hubload {

struct RemotePlan {
  RemoteSafetensors metadata;
  ShardPlan plan;
};

// config.json is fetched into the cache at the commit the headers came from
// (no request when it is already there).
Result<RemotePlan> plan_remote_model(std::string_view repo_id, const RemoteMetadataOptions& options,
                                     const PlanOptions& plan_options);

}  // namespace hubload
#pragma GCC visibility pop
