#include "hubload/plan.h"

namespace hubload {

Result<ShardPlan> plan_model_folder(const std::string& folder, const PlanOptions& options) {
  HUBLOAD_ASSIGN_OR_RETURN(ModelConfig config, load_model_config(folder));
  HUBLOAD_ASSIGN_OR_RETURN(Checkpoint checkpoint, open_checkpoint(folder));
  return plan_tensor_parallel(config, checkpoint.tensors, options);
}

}  // namespace hubload
