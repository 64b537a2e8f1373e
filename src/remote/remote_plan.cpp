#include "hubload/remote_plan.h"

#include "hubload/config.h"
#include "hubload/hub.h"

namespace hubload {

Result<RemotePlan> plan_remote_model(std::string_view repo_id, const RemoteMetadataOptions& options,
                                     const PlanOptions& plan_options) {
  RemotePlan out;
  HUBLOAD_ASSIGN_OR_RETURN(out.metadata, remote_safetensors_metadata(repo_id, options));
  HubOptions at_commit = options.hub;
  at_commit.revision = out.metadata.commit;  // the config of the very commit the headers belong to
  HUBLOAD_ASSIGN_OR_RETURN(std::filesystem::path config_path, hub_download(repo_id, "config.json", at_commit));
  HUBLOAD_ASSIGN_OR_RETURN(ModelConfig config, load_model_config(config_path.string()));
  HUBLOAD_ASSIGN_OR_RETURN(out.plan, plan_tensor_parallel(config, out.metadata.checkpoint.tensors, plan_options));
  return out;
}

}  // namespace hubload
