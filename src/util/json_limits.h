// A pass over JSON text from a server or a downloaded file, before any parser
// builds it: a document nested a million deep, or made of millions of tiny
// values, costs a DOM parser gigabytes for a few megabytes of text. The scan
// holds no more than a counter, and a document over the limits is refused
// before it is parsed.
#pragma once

#include <cstddef>
#include <string_view>

#include "hubload/error.h"

namespace hubload::util_internal {

struct JsonLimits {
  // Objects and arrays inside each other. The Hub's answers nest 4 deep, a
  // config.json under 10.
  std::size_t max_depth = 64;
  // Values of any kind (every string, number, object, array, ...). The largest
  // answers the Hub sends in one piece are a repo info of up to 50,000 files
  // (about 9 values each; more files come as 1,000-entry tree pages) and a
  // 140k-tensor weight index (about 280,000). A DOM of a million values costs
  // 100-150 MB (measured: 500,000 one-string objects, +130 MB).
  std::size_t max_values = 1'000'000;
};

// invalid_input naming `what` when `text` nests deeper or holds more values than
// `limits` allow. Syntax is not checked here (the parser does that).
Status check_json_limits(std::string_view text, std::string_view what, const JsonLimits& limits = {});

}  // namespace hubload::util_internal
