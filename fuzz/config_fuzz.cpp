// libFuzzer: any bytes as a config.json. Parsing must fail cleanly or yield a
// config that validation and the estimate handle for every small world size.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "hubload/config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto config = hubload::parse_model_config(text, "fuzz/config.json");
  if (!config) return 0;
  for (int w = 1; w <= 8; ++w) {
    auto v = hubload::validate_tensor_parallel(*config, w);
    (void)v.ok();
  }
  (void)config->estimated_parameters();
  (void)config->raw("/text_config/num_hidden_layers");
  return 0;
}
