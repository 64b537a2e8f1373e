#include "support/hub_fake_transport.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "util/digest.h"

namespace hubload::testing {
namespace {

std::string sha256_hex(std::string_view s) { return util_internal::sha256_hex(util_internal::bytes_of(s)); }
std::string git_blob_sha1_hex(std::string_view s) { return util_internal::git_blob_sha1_hex(util_internal::bytes_of(s)); }

std::string key(RepoType type, const std::string& id) { return std::string(to_string(type)) + ":" + id; }

std::string decode(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      out += static_cast<char>(std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

HttpResponse error(int status, const std::string& code, const std::string& message) {
  HttpResponse r;
  r.status = status;
  if (!code.empty()) r.headers.set("X-Error-Code", code);
  r.headers.set("X-Error-Message", message);
  r.body = nlohmann::json{{"error", message}}.dump();
  return r;
}

Status deliver(const HttpRequest& request, HttpResponse& response, const std::string& body) {
  if (request.method == "HEAD") return ok();
  std::string_view bytes = body;
  if (request.range) {
    const auto first = request.range->first;
    const auto last = std::min<std::uint64_t>(request.range->last.value_or(body.size() - 1), body.size() - 1);
    bytes = bytes.substr(first, last - first + 1);
    response.status = 206;
    response.headers.set("Content-Range", fmt::format("bytes {}-{}/{}", first, last, body.size()));
  }
  if (!request.sink) {
    response.body = std::string(bytes);
    return ok();
  }
  for (std::size_t at = 0; at < bytes.size(); at += 4096) {
    HUBLOAD_TRY(request.sink(std::span<const char>(bytes.data() + at, std::min<std::size_t>(4096, bytes.size() - at))));
  }
  return ok();
}

}  // namespace

FakeTransportRepo& FakeHubTransport::repo(RepoType type, const std::string& id) {
  std::lock_guard lock(mu_);
  return repos_[key(type, id)];
}

void FakeHubTransport::rename(RepoType type, const std::string& old_id, const std::string& new_id) {
  std::lock_guard lock(mu_);
  renamed_[key(type, old_id)] = new_id;
}

Result<HttpResponse> FakeHubTransport::send(const HttpRequest& request) {
  log_.record(request);
  return route(request);
}

// An error answer when the repo is unknown, gated for this request, or lacks
// the revision; otherwise nullopt and `commit` set.
std::optional<HttpResponse> FakeHubTransport::check_access(RepoType type, const std::string& id,
                                                           const std::string& rev, const HttpRequest& request,
                                                           std::string& commit) const {
  auto it = repos_.find(key(type, id));
  if (it == repos_.end()) return error(401, "RepoNotFound", "Repository not found");
  const FakeTransportRepo& repo = it->second;
  if (repo.gated_token) {
    auto auth = request.headers.get("Authorization");
    if (!auth) return error(401, "GatedRepo", "Access to this gated repo is restricted");
    if (*auth != "Bearer " + *repo.gated_token) return error(403, "GatedRepo", "Access to this gated repo is restricted");
  }
  commit = repo.commits.count(rev) != 0 ? rev : (repo.refs.count(rev) != 0 ? repo.refs.at(rev) : "");
  if (commit.empty()) return error(404, "RevisionNotFound", "Invalid rev id: " + rev);
  return std::nullopt;
}

Result<HttpResponse> FakeHubTransport::route(const HttpRequest& request) {
  std::lock_guard lock(mu_);
  const std::string& url = request.url;
  HttpResponse response;
  response.status = 200;

  if (url.starts_with(std::string(kFakeCdn) + "/blob/")) {
    const std::string sha = url.substr(std::string(kFakeCdn).size() + 6);
    for (const auto& [k, repo] : repos_) {
      for (const auto& [c, files] : repo.commits) {
        for (const auto& [p, f] : files) {
          if (f.lfs && sha256_hex(f.content) == sha) {
            std::string body = f.content;
            if (corrupt_paths.count(p) != 0 && !body.empty()) body[0] = static_cast<char>(body[0] ^ 1);
            response.headers.set("Content-Length", std::to_string(body.size()));
            HUBLOAD_TRY(deliver(request, response, body));
            return response;
          }
        }
      }
    }
    return error(404, "", "no such CDN object");
  }
  if (!url.starts_with(kFakeHub)) return network_error("fake: unknown host in " + url);
  std::string path = url.substr(std::string(kFakeHub).size());
  std::string query;
  if (auto q = path.find('?'); q != std::string::npos) {
    query = path.substr(q + 1);
    path = path.substr(0, q);
  }

  // API: /api/{models,datasets,spaces}/{repo}/revision/{rev}
  if (path.starts_with("/api/")) {
    const auto type_end = path.find('/', 5);
    const std::string type_seg = path.substr(5, type_end - 5);
    RepoType type = type_seg == "datasets" ? RepoType::dataset : type_seg == "spaces" ? RepoType::space : RepoType::model;
    const auto rev_at = path.find("/revision/");
    if (rev_at == std::string::npos) return error(404, "", "fake: unsupported API route " + path);
    const std::string id = path.substr(type_end + 1, rev_at - type_end - 1);
    const std::string rev = decode(path.substr(rev_at + 10));
    std::string commit;
    if (auto access = check_access(type, id, rev, request, commit)) return *access;
    const FakeTransportRepo& repo = repos_.at(key(type, id));
    nlohmann::json siblings = nlohmann::json::array();
    for (const auto& [p, f] : repo.commits.at(commit)) siblings.push_back({{"rfilename", p}, {"size", f.content.size()}});
    for (const auto& extra : extra_siblings) siblings.push_back({{"rfilename", extra}});
    response.body = nlohmann::json{{"id", id}, {"sha", commit}, {"siblings", siblings}}.dump();
    return response;
  }

  // Files: /[datasets/|spaces/]{repo}/resolve/{rev}/{path}
  RepoType type = RepoType::model;
  std::string rest = path.substr(1);
  if (rest.starts_with("datasets/")) {
    type = RepoType::dataset;
    rest = rest.substr(9);
  } else if (rest.starts_with("spaces/")) {
    type = RepoType::space;
    rest = rest.substr(7);
  }
  const auto resolve_at = rest.find("/resolve/");
  if (resolve_at == std::string::npos) return error(404, "", "fake: unknown route " + path);
  const std::string id = rest.substr(0, resolve_at);
  std::string after = rest.substr(resolve_at + 9);
  const auto slash = after.find('/');
  const std::string rev = decode(after.substr(0, slash));
  const std::string file = decode(after.substr(slash + 1));
  if (auto r = renamed_.find(key(type, id)); r != renamed_.end()) {
    response.status = 307;
    response.headers.set("Location", path.substr(0, path.size() - rest.size()) + r->second + "/resolve/" + after);
    return response;
  }
  std::string commit;
  if (auto access = check_access(type, id, rev, request, commit)) return *access;
  const FakeTransportRepo& repo = repos_.at(key(type, id));
  const auto& files = repo.commits.at(commit);
  auto f = files.find(file);
  if (f == files.end()) {
    HttpResponse r = error(404, "EntryNotFound", "Entry not found");
    r.headers.set("X-Repo-Commit", commit);
    return r;
  }
  if (!omit_repo_commit) response.headers.set("X-Repo-Commit", commit);
  const std::string& content = f->second.content;
  if (f->second.lfs) {
    response.status = 302;
    const std::string sha = sha256_hex(content);
    response.headers.set("Location", std::string(kFakeCdn) + "/blob/" + sha);
    response.headers.set("X-Linked-Etag", "\"" + sha + "\"");
    response.headers.set("X-Linked-Size", std::to_string(content.size()));
    response.headers.set("ETag", "\"" + git_blob_sha1_hex("pointer") + "\"");
    response.headers.set("Content-Length", "0");
    return response;
  }
  std::string body = content;
  if (corrupt_paths.count(file) != 0 && !body.empty()) body[0] = static_cast<char>(body[0] ^ 1);
  response.headers.set("ETag", "\"" + git_blob_sha1_hex(content) + "\"");
  response.headers.set("Content-Length", std::to_string(content.size()));
  HUBLOAD_TRY(deliver(request, response, body));
  return response;
}

FakeTransportModel add_fake_model(FakeHubTransport& hub, const std::string& id) {
  FakeTransportModel model;
  FakeTransportRepo& repo = hub.repo(RepoType::model, id);
  std::map<std::string, FakeTransportFile> files;
  files["config.json"] = {R"({"model_type": "llama", "hidden_size": 8})", false};
  files["generation_config.json"] = {R"({"do_sample": false})", false};
  files["tokenizer.json"] = {R"({"version": "1.0"})", false};
  files["model.safetensors.index.json"] = {
      R"({"metadata": {}, "weight_map": {"a.weight": "model-00001-of-00002.safetensors",)"
      R"( "b.weight": "model-00002-of-00002.safetensors", "c.weight": "model-00002-of-00002.safetensors"}})",
      false};
  files["model-00001-of-00002.safetensors"] = {std::string(5000, 'x'), true};
  files["model-00002-of-00002.safetensors"] = {std::string(7000, 'y'), true};
  files["consolidated.safetensors"] = {std::string(9000, 'z'), true};
  files["sub/notes.txt"] = {"notes\n", false};
  repo.commits[model.main_commit] = files;
  files["config.json"] = {R"({"model_type": "llama", "hidden_size": 16})", false};
  repo.commits[model.pr_commit] = files;
  repo.refs["main"] = model.main_commit;
  repo.refs["v1.0"] = model.main_commit;
  repo.refs["refs/pr/1"] = model.pr_commit;
  return model;
}

}  // namespace hubload::testing
