// What a paths-info request asks for, from its body: JSON {"paths": [...],
// "expand": bool} or the form data the Python client sends
// (paths=a&paths=b&expand=True). Pure, so the fuzzer reaches it.
#pragma once

#include <httplib.h>

#include <optional>
#include <string>
#include <vector>

namespace hubload::serve_internal {

struct PathsInfoRequest {
  std::vector<std::string> paths;  // as sent; entries that are not strings are skipped
  bool expand = false;
};

// nullopt for a JSON body that is not an object with a "paths" array and an
// optional boolean "expand" (answered 400).
std::optional<PathsInfoRequest> parse_paths_info_request(const httplib::Request& req);

}  // namespace hubload::serve_internal
