// libFuzzer: any bytes as a plan rules file (JSON plus user regular
// expressions). Parsing must fail cleanly; a parsed rule must match tensor
// names in bounded time (the fuzzer's -timeout catches a pathological pattern).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "plan/rules.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto rules = hubload::plan_internal::parse_rules_file(text, "fuzz-rules.json");
  if (!rules) return 0;
  for (const auto& rule : *rules) {
    for (std::string_view name : {"model.layers.0.self_attn.q_proj.weight",
                                  "model.layers.61.mlp.experts.255.down_proj.weight_scale_inv",
                                  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!"})
      (void)rule.re.search(name);
  }
  return 0;
}
