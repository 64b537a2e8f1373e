#include "hubload/load.h"
#include "util/digest.h"

namespace hubload {

std::string sha256_hex(std::span<const std::byte> bytes) { return util::sha256_hex(bytes); }

}  // namespace hubload
