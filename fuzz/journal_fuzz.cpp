// libFuzzer: any bytes as a transfer journal read back after a crash. Decoding
// must fail cleanly or yield ranges inside the file, in order, that encode and
// decode to the same journal.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "transfer/journal.h"

using hubload::transfer_internal::decode_journal;
using hubload::transfer_internal::encode_journal;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto journal = decode_journal(text, "fuzz.journal");
  if (!journal) return 0;
  for (const auto* claims : {&journal->ranges, &journal->written}) {
    std::uint64_t end = 0;
    for (const auto& r : *claims) {
      if (r.begin < end || r.end < r.begin || r.end > journal->size) __builtin_trap();
      end = r.end;
    }
  }
  auto again = decode_journal(encode_journal(*journal), "fuzz.journal (re-encoded)");
  if (!again || !(*again == *journal)) __builtin_trap();
  return 0;
}
