// Feeds arbitrary bytes to the strict header parser (the input length standing in
// for the file size) and to the index parser. Any crash, hang or leak is a bug.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "hubload/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto bytes = std::as_bytes(std::span(data, size));
  hubload::ReaderOptions options;
  options.max_header_bytes = 1 << 20;  // keep each input cheap; the cap logic is the same
  auto header = hubload::parse_header(bytes, size, options, "fuzz.safetensors");
  if (header) {
    for (const hubload::TensorInfo& t : header->tensors) {
      if (t.offset + t.size > size) __builtin_trap();  // a validated tensor must lie inside the file
    }
  }
  auto index = hubload::parse_index(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.json");
  if (index) (void)index->shard_files();
  return 0;
}
