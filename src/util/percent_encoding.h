// Percent-encoding of URL path segments and query values (RFC 3986), shared by
// the client that builds Hub URLs and the server that parses them.
#pragma once

#include <string>
#include <string_view>

namespace hubload::util_internal {

// Encodes everything but unreserved characters (A-Z a-z 0-9 - . _ ~) as
// upper-case %XX; `keep_slash` also keeps '/', for multi-segment paths.
std::string percent_encode(std::string_view in, bool keep_slash);
// Decodes %XX (either case) into `out`; false on a malformed escape. '+' stays
// '+': it means a space only in form bodies, never in a path.
bool percent_decode(std::string_view in, std::string& out);

}  // namespace hubload::util_internal
