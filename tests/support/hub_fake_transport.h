// An in-process fake Hub behind the Transport seam, for unit tests of the
// client without sockets: repos with commits, refs, LFS files served through a
// 302 to a fake CDN host, renames (relative 307), gating, and knobs to make the
// server misbehave. Every request is recorded.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "hubload/cache.h"
#include "hubload/transport.h"
#include "support/request_log.h"

namespace hubload::testing {

inline constexpr const char* kFakeHub = "http://hub.test";
inline constexpr const char* kFakeCdn = "http://cdn.test";

struct FakeTransportFile {
  std::string content;
  bool lfs = false;  // served as a 302 to the CDN, named by sha256
};

struct FakeTransportRepo {
  std::map<std::string, std::map<std::string, FakeTransportFile>> commits;  // commit → path → file
  std::map<std::string, std::string> refs;                              // branch/tag/refs/pr/N → commit
  std::optional<std::string> gated_token;  // gated: only this token has access
};

class FakeHubTransport final : public Transport {
 public:
  FakeTransportRepo& repo(RepoType type, const std::string& id);
  void rename(RepoType type, const std::string& old_id, const std::string& new_id);

  // Misbehaviour knobs.
  bool omit_repo_commit = false;          // HEAD answers lack X-Repo-Commit
  std::set<std::string> corrupt_paths;    // GET serves different bytes of the same size
  std::vector<std::string> extra_siblings;  // names added to repo info (e.g. "../evil")

  Result<HttpResponse> send(const HttpRequest& request) override;

  std::vector<HttpRequest> requests() const { return log_.requests(); }
  int count(std::string_view method, std::string_view url_contains = {}) const {
    return log_.count(method, url_contains);
  }

 private:
  Result<HttpResponse> route(const HttpRequest& request);
  std::optional<HttpResponse> check_access(RepoType type, const std::string& id, const std::string& rev,
                                           const HttpRequest& request, std::string& commit) const;
  mutable std::mutex mu_;
  std::map<std::string, FakeTransportRepo> repos_;            // "<type>:<id>"
  std::map<std::string, std::string> renamed_;       // "<type>:<old>" → new id
  RequestLog log_;
};

// A small model repo used by many tests: config.json, generation_config.json,
// tokenizer.json, model.safetensors.index.json naming two LFS shards, a stray
// consolidated.safetensors, sub/notes.txt; branch main, tag v1.0, refs/pr/1
// (a second commit with a different config.json).
struct FakeTransportModel {
  std::string main_commit = std::string(40, 'a');
  std::string pr_commit = std::string(40, 'b');
};
FakeTransportModel add_fake_model(FakeHubTransport& hub, const std::string& id);

}  // namespace hubload::testing
