// HEAD/GET /{repo}/resolve/{rev}/{path} (hub-protocol.md §2.3, §3.3) and the
// CDN listener that large files redirect to.
#include "serve/server_impl.h"
#include "util/percent_encoding.h"

namespace hubload::serve_internal {
namespace {

std::string etag_value(const std::string& s) { return "\"" + s + "\""; }

std::string cdn_signature(const std::string& secret, const std::string& key, const std::string& commit,
                          const std::string& path) {
  return util_internal::sha256_hex(secret + "\n" + key + "\n" + commit + "\n" + path);
}

}  // namespace

void ServerImpl::handle_resolve(const httplib::Request& req, httplib::Response& res, const Route& r,
                                  RepoSource& repo) {
  std::optional<Revision> revision = revision_or_error(res, r, repo, true);
  if (!revision) return;
  const std::string& commit = revision->commit;
  const RepoFile* file = find_file(*revision->files, r.path);
  res.set_header("X-Repo-Commit", commit);
  if (file == nullptr) return send_error(res, 404, "EntryNotFound", "Entry not found: " + r.path);
  auto ids = file_ids(*file, hashes);
  if (!ids) return send_error(res, 500, "", ids.error().message());

  if (file->lfs) {
    res.set_header("X-Linked-Etag", etag_value(ids->sha256));
    res.set_header("X-Linked-Size", std::to_string(file->size));
    if (opts.cdn) {
      // An absolute Location on another port: clients read the X-Linked-* headers of this
      // 302 and fetch the CDN URL without their token (hub-protocol.md §2.2, §3.1).
      std::string key = repo_key(r.type, r.repo_id);
      // A wildcard bind address is no place to connect to: name the address the client reached.
      const bool wildcard = opts.host == "0.0.0.0" || opts.host == "::";
      std::string host = wildcard ? req.local_addr : opts.host;
      if (host.find(':') != std::string::npos) host = "[" + host + "]";
      std::string location = "http://" + host + ":" + std::to_string(cdn_port) + "/blobs/" + ids->sha256 +
                             "?repo=" + util_internal::percent_encode(key, false) + "&commit=" + commit +
                             "&path=" + util_internal::percent_encode(file->path, false) +
                             "&sig=" + cdn_signature(cdn_secret, key, commit, file->path);
      res.status = 302;
      res.set_header("ETag", etag_value(ids->oid));  // the pointer's sha1, as on the Hub
      res.set_header("Location", location);
      return;
    }
    res.set_header("ETag", etag_value(ids->sha256));  // a mirror answering 200 sends the content hash
  } else {
    res.set_header("ETag", etag_value(ids->oid));
  }
  FaultPlan plan;
  if (req.method == "GET") plan = faults.plan(FaultInjector::Scope::body, {req.path, file->path});
  serve_file_body(req, res, file->disk, file->size, plan, counters());
}

void ServerImpl::handle_cdn(const httplib::Request& req, httplib::Response& res) {
  record(req, true);
  FaultPlan status = faults.plan(FaultInjector::Scope::status, {req.path, req.get_param_value("path")});
  if (status.error) return send_fault_status(res, *status.error);
  std::string key = req.get_param_value("repo"), commit = req.get_param_value("commit");
  std::string path = req.get_param_value("path");
  if (!req.path.starts_with("/blobs/") || req.get_param_value("sig") != cdn_signature(cdn_secret, key, commit, path)) {
    return send_error(res, 403, "", "invalid or expired signed URL");
  }
  RepoSource* repo = find_repo(key);
  auto revision = repo ? repo->revision_for(commit, path) : Result<Revision>(not_found(key));
  // Only a commit may name the files here: a branch could have moved since the URL was signed.
  const RepoFile* file = revision && revision->commit == commit ? find_file(*revision->files, path) : nullptr;
  if (file == nullptr) return send_error(res, 404, "", "blob no longer available");
  auto ids = file_ids(*file, hashes);
  if (!ids || req.path != "/blobs/" + ids->sha256) return send_error(res, 404, "", "blob no longer available");
  // A CDN's own ETag is not the content hash; clients must not rely on it.
  res.set_header("ETag", etag_value(util_internal::sha1_hex(ids->sha256)));
  FaultPlan plan;
  if (req.method == "GET") plan = faults.plan(FaultInjector::Scope::body, {req.path, file->path});
  serve_file_body(req, res, file->disk, file->size, plan, counters());
}

}  // namespace hubload::serve_internal
