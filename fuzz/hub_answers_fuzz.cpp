// libFuzzer: the Hub's JSON answers as hubload's client reads them. The input
// is a script of HTTP answers (fuzz/scripted_transport.h) played to the real
// repo-info code: the /revision answer, then tree pages followed through their
// Link headers, error answers turned into Errors, every body through the JSON
// depth/count scan. Whatever the server says, a listing that comes back holds
// a 40-hex commit and only file names safe to use as paths.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include <nlohmann/json.hpp>

#include "hub/hub_context.h"
#include "hub/repo_listing.h"
#include "hubload/cache.h"
#include "hubload/hub.h"
#include "scripted_transport.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  hubload::HubOptions options;
  options.endpoint = "https://hub.example";
  options.cache_dir = "/nonexistent/hubload-fuzz-cache";  // the listing never touches the cache
  options.no_token = true;
  options.transport = std::make_shared<hubload::fuzz::ScriptedTransport>(input);

  hubload::Result<hubload::RepoInfo> info = hubload::fetch_repo_info("acme/tiny", options);
  if (info) {
    if (!hubload::is_commit_hash(info->sha)) __builtin_trap();
    for (const hubload::RepoFileInfo& file : info->files) {
      if (!hubload::validate_repo_file_path(file.path)) __builtin_trap();
    }
  } else if (info.error().message().empty()) {
    __builtin_trap();  // every refusal says what was wrong
  }

  // The first answer alone, as an error page and as a server JSON document.
  const hubload::HttpResponse first = hubload::fuzz::parse_scripted_answer(input.substr(0, input.find("\n---\n")));
  const hubload::Error error = hubload::hub_internal::hub_error(first, "https://hub.example/api/models/acme/tiny", "fuzz");
  if (error.message().empty()) __builtin_trap();
  (void)hubload::hub_internal::parse_server_json(first.body, "fuzz", "https://hub.example/api/models/acme/tiny");
  return 0;
}
