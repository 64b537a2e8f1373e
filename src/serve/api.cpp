// The JSON APIs: repo info, tree (paginated), refs and paths-info (hub-protocol.md §5).
#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <optional>
#include <set>

#include "serve/paths_info_request.h"
#include "serve/server_impl.h"
#include "util/percent_encoding.h"

namespace hubload::serve_internal {
namespace {

using nlohmann::json;

constexpr const char* kDate = "2024-01-01T00:00:00.000Z";  // sources carry no commit dates

std::string parent_of(const std::string& path) {
  std::size_t slash = path.rfind('/');
  return slash == std::string::npos ? "" : path.substr(0, slash);
}

bool under(const std::string& path, const std::string& dir) {
  return dir.empty() || (path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 && path[dir.size()] == '/');
}

// A tree entry for a file; nullopt with `error` set when hashing failed.
Result<json> file_entry(const RepoFile& f, HashCache& hashes) {
  HUBLOAD_ASSIGN_OR_RETURN(FileIds ids, file_ids(f, hashes));
  json e{{"type", "file"}, {"oid", ids.oid}, {"size", f.size}, {"path", f.path}};
  if (f.lfs) {
    e["lfs"] = {{"oid", ids.sha256}, {"size", f.size}, {"pointerSize", lfs_pointer(ids.sha256, f.size).size()}};
  }
  return e;
}

json directory_entry(const std::string& path, const std::string& commit) {
  return {{"type", "directory"}, {"oid", util_internal::sha1_hex("tree " + commit + " " + path)}, {"size", 0}, {"path", path}};
}

std::set<std::string> directories(const std::vector<RepoFile>& files) {
  std::set<std::string> dirs;
  for (const RepoFile& f : files) {
    for (std::string p = parent_of(f.path); !p.empty(); p = parent_of(p)) dirs.insert(p);
  }
  return dirs;
}

}  // namespace

void ServerImpl::handle_repo_info(const httplib::Request& req, httplib::Response& res, const Route& r,
                                    RepoSource& repo) {
  const bool blobs = truthy(req, "blobs");
  auto listing = revision_or_error(res, r, repo, false);
  if (!listing) return;
  const std::vector<RepoFile>* files = listing->files.get();
  const std::string& commit = listing->commit;
  json siblings = json::array();
  for (const RepoFile& f : *files) {
    json s{{"rfilename", f.path}};
    if (blobs) {
      auto ids = file_ids(f, hashes);
      if (!ids) return send_error(res, 500, "", ids.error().message());
      s["blobId"] = ids->oid;
      s["size"] = f.size;
      if (f.lfs) {
        s["lfs"] = {{"sha256", ids->sha256}, {"size", f.size},
                    {"pointerSize", lfs_pointer(ids->sha256, f.size).size()}};
      }
    }
    siblings.push_back(std::move(s));
  }
  const bool gated = opts.gated.count(r.repo_id) != 0;
  json info{{"_id", util_internal::sha1_hex(repo_key(r.type, r.repo_id)).substr(0, 24)},
            {"id", r.repo_id},
            {"sha", commit},
            {"private", false},
            {"gated", gated ? json("manual") : json(false)},
            {"disabled", false},
            {"lastModified", kDate},
            {"tags", json::array()},
            {"siblings", std::move(siblings)}};
  if (r.type == RepoType::model) info["modelId"] = r.repo_id;
  send_json(res, info.dump());
}

void ServerImpl::handle_tree(const httplib::Request& req, httplib::Response& res, const Route& r,
                               RepoSource& repo) {
  auto listing = revision_or_error(res, r, repo, false);
  if (!listing) return;
  const std::vector<RepoFile>* files = listing->files.get();
  const std::string& commit = listing->commit;
  const bool recursive = truthy(req, "recursive");
  const bool expand = truthy(req, "expand");
  std::set<std::string> dirs = directories(*files);
  if (!r.path.empty() && dirs.count(r.path) == 0) {
    res.set_header("X-Repo-Commit", commit);
    return send_error(res, 404, "EntryNotFound", "Entry not found: " + r.path);
  }
  // Entries sorted by path, files and directories mixed: a stable order makes cursors stable.
  struct Item {
    std::string path;
    const RepoFile* file;
  };
  std::vector<Item> items;
  for (const std::string& d : dirs) {
    if (under(d, r.path) && (recursive || parent_of(d) == r.path)) items.push_back({d, nullptr});
  }
  for (const RepoFile& f : *files) {
    if (under(f.path, r.path) && (recursive || parent_of(f.path) == r.path)) items.push_back({f.path, &f});
  }
  std::sort(items.begin(), items.end(), [](const Item& a, const Item& b) { return a.path < b.path; });

  std::size_t cursor = 0;
  std::string cursor_text = req.get_param_value("cursor");
  if (!cursor_text.empty()) {
    auto [p, ec] = std::from_chars(cursor_text.data(), cursor_text.data() + cursor_text.size(), cursor);
    if (ec != std::errc() || p != cursor_text.data() + cursor_text.size() || cursor > items.size()) {
      return send_error(res, 400, "BadRequest", "invalid cursor '" + cursor_text + "'");
    }
  }
  std::size_t end = std::min(items.size(), cursor + opts.tree_page_size);
  json out = json::array();
  for (std::size_t i = cursor; i < end; ++i) {
    json e;
    if (items[i].file != nullptr) {
      auto fe = file_entry(*items[i].file, hashes);
      if (!fe) return send_error(res, 500, "", fe.error().message());
      e = std::move(*fe);
    } else {
      e = directory_entry(items[i].path, commit);
    }
    if (expand) e["lastCommit"] = {{"id", commit}, {"title", "hubload serve"}, {"date", kDate}};
    out.push_back(std::move(e));
  }
  if (end < items.size()) {
    std::string next = host_for_links(req) + "/api/" + std::string(to_string(r.type)) + "s/" + r.repo_id + "/tree/" +
                       util_internal::percent_encode(r.revision.empty() ? "main" : r.revision, false);
    if (!r.path.empty()) next += "/" + util_internal::percent_encode(r.path, false);
    std::string query;
    for (const auto& [k, v] : req.params) {
      if (k != "cursor") query += (query.empty() ? "?" : "&") + util_internal::percent_encode(k, false) + "=" + util_internal::percent_encode(v, false);
    }
    next += query + (query.empty() ? "?" : "&") + "cursor=" + std::to_string(end);
    res.set_header("Link", "<" + next + ">; rel=\"next\"");
  }
  send_json(res, out.dump());
}

void ServerImpl::handle_refs(const httplib::Request& req, httplib::Response& res, const Route& r,
                               RepoSource& repo) {
  json branches = json::array(), prs = json::array();
  for (const RepoRef& ref : repo.refs()) {
    if (ref.name.starts_with("refs/pr/")) {
      prs.push_back({{"name", ref.name}, {"ref", ref.name}, {"targetCommit", ref.commit}});
    } else if (!ref.name.starts_with("refs/")) {
      // A cache does not record whether a ref is a branch or a tag; all are listed as branches.
      branches.push_back({{"name", ref.name}, {"ref", "refs/heads/" + ref.name}, {"targetCommit", ref.commit}});
    }
  }
  json out{{"branches", branches}, {"tags", json::array()}, {"converts", json::array()}};
  if (truthy(req, "include_prs")) out["pullRequests"] = prs;
  send_json(res, out.dump());
}

void ServerImpl::handle_paths_info(const httplib::Request& req, httplib::Response& res, const Route& r,
                                     RepoSource& repo) {
  std::optional<PathsInfoRequest> asked = parse_paths_info_request(req);
  if (!asked) return send_error(res, 400, "BadRequest", "expected a JSON body {\"paths\": [...], \"expand\": true|false}");
  const std::vector<std::string>& paths = asked->paths;
  const bool expand = asked->expand;
  auto listing = revision_or_error(res, r, repo, false);
  if (!listing) return;
  const std::vector<RepoFile>* files = listing->files.get();
  const std::string& commit = listing->commit;
  std::set<std::string> dirs = directories(*files);
  json out = json::array();
  for (const std::string& p : paths) {
    json e;
    // A binary search: a body may list tens of thousands of paths.
    if (const RepoFile* f = find_file(*files, p)) {
      auto fe = file_entry(*f, hashes);
      if (!fe) return send_error(res, 500, "", fe.error().message());
      e = std::move(*fe);
    } else if (dirs.count(p) != 0) {
      e = directory_entry(p, commit);
    } else {
      continue;
    }
    if (expand) e["lastCommit"] = {{"id", commit}, {"title", "hubload serve"}, {"date", kDate}};
    out.push_back(std::move(e));
  }
  send_json(res, out.dump());
}

}  // namespace hubload::serve_internal
