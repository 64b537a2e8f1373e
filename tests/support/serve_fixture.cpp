#include "support/serve_fixture.h"

#include <stdexcept>

#include "hubload/cache.h"
#include "serve/repo_source.h"
#include "serve/server_testing.h"
#include "util/digest.h"

namespace hubload::testing {
namespace fs = std::filesystem;

FakeRepo& FakeRepo::branch(const std::string& name, RepoFiles files) {
  revisions_[name] = std::move(files);
  return *this;
}

FakeRepo& FakeRepo::gated(std::string token) {
  token_ = std::move(token);
  return *this;
}

FakeRepo& FakeRepo::renamed_from(std::string old_id) {
  old_id_ = std::move(old_id);
  return *this;
}

const RepoFiles& FakeRepo::files(const std::string& revision) const {
  auto it = revisions_.find(revision);
  if (it == revisions_.end()) throw std::runtime_error("FakeRepo " + id_ + ": no revision " + revision);
  return it->second;
}

std::string FakeRepo::commit(const std::string& revision) const {
  std::string text = "commit " + type_ + ":" + id_ + "\n" + revision + "\n";
  for (const auto& [path, content] : files(revision)) text += path + '\0' + util_internal::git_blob_sha1_hex(content) + "\n";
  return util_internal::sha1_hex(text);
}

FakeHub::FakeHub(std::uint64_t lfs_threshold) : lfs_threshold_(lfs_threshold) {}
FakeHub::~FakeHub() { stop(); }

FakeRepo& FakeHub::repo(const std::string& type, const std::string& id) {
  auto& slot = repos_[type + ":" + id];
  if (!slot) slot = std::make_unique<FakeRepo>(type, id);
  return *slot;
}

bool FakeHub::is_lfs(const std::string& path, const std::string& content) const {
  return serve_internal::looks_like_lfs(path, content.size(), lfs_threshold_);
}

std::string FakeHub::etag(const std::string& path, const std::string& content) const {
  return is_lfs(path, content) ? util_internal::sha256_hex(content) : util_internal::git_blob_sha1_hex(content);
}

// Written through RepoCache, so the server reads the very layout a client writes.
fs::path FakeHub::write_cache() {
  fs::path root = dir() / "hub";
  fs::remove_all(root);
  auto check = [](const Status& s) {
    if (!s) throw std::runtime_error("FakeHub: " + s.error().to_string());
  };
  for (const auto& [key, repo] : repos_) {
    const RepoCache cache(root, repo->id(), parse_repo_type(repo->type()).value());
    for (const auto& [rev, files] : repo->revisions()) {
      std::string commit = repo->commit(rev);
      check(cache.write_ref(rev, commit));
      for (const auto& [path, content] : files) {
        std::string blob = etag(path, content);
        write_file(cache.blob_path(blob), content);
        check(cache.link_snapshot(commit, path, blob));
      }
    }
  }
  fs::create_directories(root);
  return root;
}

fs::path FakeHub::write_folder(const std::string& id, const std::string& revision, const std::string& type) {
  const FakeRepo& r = repo(type, id);
  fs::path out = dir() / "folders" / type / id / revision;
  fs::remove_all(out);
  fs::create_directories(out);
  for (const auto& [path, content] : r.files(revision)) write_file(out / path, content);
  return out;
}

Server& FakeHub::start(FakeHubOptions options) {
  stop();
  ServeOptions o;
  o.cache_dir = write_cache();
  o.cdn = options.cdn;
  o.faults = std::move(options.faults);
  o.threads = options.threads;
  o.tree_page_size = options.tree_page_size;
  o.lfs_threshold = lfs_threshold_;
  for (const auto& [key, repo] : repos_) {
    if (!repo->gate_token().empty()) o.gated[repo->id()] = repo->gate_token();
    if (!repo->old_id().empty()) o.renamed[repo->old_id()] = repo->id();
  }
  auto server = serve_internal::ServerAccess::start(std::move(o), options.test_mode);
  if (!server) throw std::runtime_error("FakeHub: " + server.error().to_string());
  server_ = std::move(*server);
  return *server_;
}

void FakeHub::stop() { server_.reset(); }

Server& FakeHub::server() {
  if (!server_) throw std::runtime_error("FakeHub: not started");
  return *server_;
}

std::string FakeHub::url() const { return server_ ? server_->url() : ""; }
std::string FakeHub::cdn_url() const { return server_ ? server_->cdn_url() : ""; }
ServeStats FakeHub::stats() const { return server_ ? server_->stats() : ServeStats{}; }
bool FakeHub::cdn_saw_authorization() const {
  return server_ && serve_internal::ServerAccess::cdn_requests_with_authorization(*server_) != 0;
}
void FakeHub::set_faults(FaultOptions faults) { server().set_faults(std::move(faults)); }

const FakeRepo& FakeHub::find(const std::string& id) const {
  for (const auto& [key, repo] : repos_) {
    if (repo->id() == id) return *repo;
  }
  throw std::runtime_error("FakeHub: no repo " + id);
}

std::string FakeHub::commit(const std::string& id, const std::string& revision) const {
  return find(id).commit(revision);
}

::testing::AssertionResult answered(const httplib::Result& res, int status, const std::string& header,
                                    const std::string& value) {
  if (!res) return ::testing::AssertionFailure() << "no answer: " << httplib::to_string(res.error());
  std::string got = header.empty() ? "" : res->get_header_value(header);
  if (res->status != status || got != value) {
    return ::testing::AssertionFailure() << "got " << res->status << " " << header << " '" << got << "', expected "
                                         << status << " '" << value << "'";
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult hub_error(const httplib::Result& res, int status, const std::string& code) {
  return answered(res, status, "X-Error-Code", code);
}

}  // namespace hubload::testing
