#include "hubload/version.h"

namespace hubload {

std::string_view version() { return kVersion; }

}  // namespace hubload
