// A fake Hugging Face Hub for end-to-end tests: describe repos in code, get them
// written as a Hub cache (blobs + relative symlinks + refs) or as plain folders,
// and serve them with an in-process hubload::Server on 127.0.0.1:<free port>.
//
//   hubload::testing::FakeHub hub;
//   hub.model("acme/tiny")
//       .branch("main", {{"config.json", "{}"}, {"model.safetensors", bytes}})
//       .tag("v1.0", {{"config.json", "{\"v\":1}"}})
//       .pr(1, {{"config.json", "{\"pr\":1}"}})
//       .gated("hf_secret")            // needs "Authorization: Bearer hf_secret"
//       .renamed_from("old/tiny");     // old/tiny answers a relative 307
//   hub.dataset("acme/data").branch("main", {{"data/train.csv", "a,b\n"}});
//   hub.start(FakeHubOptions().with_cdn());  // or hub.start() for direct 200 answers
//   std::string endpoint = hub.url();  // "http://127.0.0.1:PORT" (use as HF_ENDPOINT)
//   hub.commit("acme/tiny", "main");   // the 40-hex commit the server reports
//   hub.stats().count("GET", "/acme/tiny/resolve/main/config.json");
//   hubload::FaultOptions f;
//   f.rules.push_back(*hubload::parse_fault_rule("drop:100,first=1"));
//   hub.set_faults(f);                 // or FakeHubOptions().with_faults(f) at start
//
// Files named *.safetensors / *.bin, or larger than lfs_threshold, are LFS files
// (blob named by sha256, X-Linked-Etag; a 302 to the CDN listener in CDN mode);
// the others are regular git files (blob named by the git blob sha1, ETag).
// Errors in the fixture itself throw std::runtime_error (test code only).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include <gtest/gtest.h>
#include <httplib.h>

#include "hubload/serve.h"
#include "support/test_support.h"

namespace hubload::testing {

using RepoFiles = std::map<std::string, std::string>;  // repo path -> content

class FakeRepo {
 public:
  FakeRepo(std::string type, std::string id) : type_(std::move(type)), id_(std::move(id)) {}

  // A revision and its complete file set. Branches and tags are both stored as
  // refs/<name> in the cache (the cache cannot tell them apart).
  FakeRepo& branch(const std::string& name, RepoFiles files);
  FakeRepo& tag(const std::string& name, RepoFiles files) { return branch(name, std::move(files)); }
  FakeRepo& pr(int number, RepoFiles files) { return branch("refs/pr/" + std::to_string(number), std::move(files)); }
  FakeRepo& gated(std::string token);
  FakeRepo& renamed_from(std::string old_id);

  const std::string& type() const { return type_; }
  const std::string& id() const { return id_; }
  // The deterministic 40-hex commit of a revision; throws for an unknown one.
  std::string commit(const std::string& revision) const;
  const RepoFiles& files(const std::string& revision) const;
  const std::map<std::string, RepoFiles>& revisions() const { return revisions_; }
  const std::string& gate_token() const { return token_; }
  const std::string& old_id() const { return old_id_; }

 private:
  std::string type_, id_, token_, old_id_;
  std::map<std::string, RepoFiles> revisions_;
};

struct FakeHubOptions {
  bool cdn = false;                 // LFS files answer 302 to a second listener
  FaultOptions faults;       // see parse_fault_rule
  int threads = 8;
  std::size_t tree_page_size = 1000;
  bool test_mode = true;            // GET /_hubload/stats

  // Chainable setters: g++ 12 warns (-Wextra) on designated initializers that omit fields.
  FakeHubOptions& with_cdn(bool on = true) { cdn = on; return *this; }
  FakeHubOptions& with_faults(FaultOptions f) { faults = std::move(f); return *this; }
  FakeHubOptions& with_threads(int n) { threads = n; return *this; }
  FakeHubOptions& with_tree_page_size(std::size_t n) { tree_page_size = n; return *this; }
  FakeHubOptions& with_test_mode(bool on) { test_mode = on; return *this; }
};

class FakeHub {
 public:
  explicit FakeHub(std::uint64_t lfs_threshold = 1024 * 1024);
  ~FakeHub();

  FakeRepo& model(const std::string& id) { return repo("model", id); }
  FakeRepo& dataset(const std::string& id) { return repo("dataset", id); }
  FakeRepo& space(const std::string& id) { return repo("space", id); }
  FakeRepo& repo(const std::string& type, const std::string& id);

  // (Re)writes every repo as a Hub cache under dir()/"hub"; returns that path.
  std::filesystem::path write_cache();
  // Writes one revision of a repo as a plain folder; returns its path.
  std::filesystem::path write_folder(const std::string& id, const std::string& revision = "main",
                                     const std::string& type = "model");

  // Writes the cache and starts the server; throws if it cannot.
  Server& start(FakeHubOptions options = {});
  void stop();
  Server& server();
  std::string url() const;      // "http://127.0.0.1:PORT"
  std::string cdn_url() const;  // "" without CDN mode
  ServeStats stats() const;
  // Whether a request reached the CDN listener with an Authorization header
  // (clients must drop the token on the redirect).
  bool cdn_saw_authorization() const;
  void set_faults(FaultOptions faults);

  // Commit of a revision of a repo (any type), as the server reports it.
  std::string commit(const std::string& id, const std::string& revision = "main") const;
  const std::filesystem::path& dir() const { return tmp_.path(); }

  // The etag a client must end up with for this file: sha256 for LFS files,
  // the git blob sha1 otherwise (both lowercase hex, no quotes).
  std::string etag(const std::string& path, const std::string& content) const;
  bool is_lfs(const std::string& path, const std::string& content) const;

 private:
  const FakeRepo& find(const std::string& id) const;

  TempDir tmp_;
  std::uint64_t lfs_threshold_;
  std::map<std::string, std::unique_ptr<FakeRepo>> repos_;  // "type:id"
  std::unique_ptr<Server> server_;
};

// EXPECT_TRUE(hub_error(cli.Head(url), 404, "EntryNotFound")): the answer arrived with this
// status and X-Error-Code (an empty code expects no X-Error-Code header).
::testing::AssertionResult hub_error(const httplib::Result& res, int status, const std::string& code);
// EXPECT_TRUE(answered(cli.Head(url), 307, "Location", "/new/id/...")): the answer arrived with this
// status and this value of `header` (an empty value expects the header absent; no header checks the status only).
::testing::AssertionResult answered(const httplib::Result& res, int status, const std::string& header = "",
                                    const std::string& value = "");

}  // namespace hubload::testing
