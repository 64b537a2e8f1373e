// ModelConfig and TpValidation as JSON documents, for `hubload config --json`
// and for other components that report a model.
#pragma once

#include <nlohmann/json.hpp>

#include "hubload/config.h"

namespace hubload::config_internal {

nlohmann::json to_json(const ModelConfig& config);
nlohmann::json to_json(const TpValidation& validation);

}  // namespace hubload::config_internal
