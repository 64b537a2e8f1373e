// Repo info and the file list: /api/{type}s/{repo}/revision/{rev}, falling
// back to the recursive tree listing (with Link pagination) when the info has
// no siblings. Every file name is validated before anything touches the disk.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "hub/file_metadata.h"
#include "hub/hub_context.h"
#include "hub/repo_listing.h"
#include "util/percent_encoding.h"
#include "util/terminal_text.h"

namespace hubload::hub_internal {
namespace {

constexpr int kMaxTreePages = 1000;

Result<nlohmann::json> get_json(const HubContext& ctx, const std::string& url, std::string_view what,
                                HttpHeaders* response_headers = nullptr) {
  HUBLOAD_ASSIGN_OR_RETURN(Answer answer, send_following_relative(ctx, make_request(ctx, "GET", url)));
  if (answer.response.status != 200) return hub_error(answer.response, answer.url, what);
  HUBLOAD_ASSIGN_OR_RETURN(nlohmann::json doc, parse_server_json(answer.response.body, what, answer.url));
  if (response_headers != nullptr) *response_headers = std::move(answer.response.headers);
  return doc;
}

std::optional<std::uint64_t> number(const nlohmann::json& obj, const char* key) {
  if (obj.is_object() && obj.contains(key) && obj[key].is_number_unsigned()) return obj[key].get<std::uint64_t>();
  return std::nullopt;
}

std::string string_field(const nlohmann::json& obj, const char* key) {
  if (obj.is_object() && obj.contains(key) && obj[key].is_string()) return obj[key].get<std::string>();
  return {};
}

// Siblings and tree entries carry the same facts under different keys.
struct EntryKeys {
  const char* path;
  const char* blob_id;
  const char* lfs_sha256;
};
constexpr EntryKeys kSiblingKeys{"rfilename", "blobId", "sha256"};
constexpr EntryKeys kTreeKeys{"path", "oid", "oid"};

// One file entry; its name is validated before anything can use it as a path.
Result<RepoFileInfo> parse_entry(const nlohmann::json& entry, const EntryKeys& keys, std::string_view url) {
  RepoFileInfo file;
  file.path = string_field(entry, keys.path);
  Status valid = validate_repo_file_path(file.path);
  if (!valid) {
    // The refused name is the server's: quoted escaped.
    return Error(valid.error().kind(), util_internal::terminal_safe(std::string(url) + ": " + valid.error().message()));
  }
  file.size = number(entry, "size");
  file.blob_id = string_field(entry, keys.blob_id);
  if (entry.contains("lfs")) {
    std::string sha = string_field(entry["lfs"], keys.lfs_sha256);
    if (!sha.empty()) file.lfs_sha256 = sha;
    if (auto size = number(entry["lfs"], "size")) file.size = size;
  }
  return file;
}

Result<std::vector<RepoFileInfo>> list_tree(const HubContext& ctx, std::string_view commit) {
  std::vector<RepoFileInfo> files;
  std::string url = api_url(ctx, fmt::format("/tree/{}?recursive=true&expand=false", util_internal::percent_encode(commit, false)));
  for (int page = 0; !url.empty(); ++page) {
    if (page >= kMaxTreePages) return invalid_input(fmt::format("{}: more than {} tree pages", url, kMaxTreePages));
    HttpHeaders headers;
    HUBLOAD_ASSIGN_OR_RETURN(nlohmann::json doc, get_json(ctx, url, "listing the repo tree", &headers));
    if (!doc.is_array()) return invalid_input(fmt::format("{}: tree listing is not a JSON array", url));
    for (const auto& entry : doc) {
      if (string_field(entry, "type") != "file") continue;
      HUBLOAD_ASSIGN_OR_RETURN(RepoFileInfo file, parse_entry(entry, kTreeKeys, url));
      files.push_back(std::move(file));
    }
    std::string next = next_link(headers);
    // Pagination must stay on the Hub: a Link elsewhere would carry the token away.
    if (!next.empty() && url_origin(next) != url_origin(ctx.endpoint)) {
      return invalid_input(fmt::format("{}: tree pagination link points to another host ({})", url, next));
    }
    url = std::move(next);
  }
  return files;
}

}  // namespace

std::string next_link(const HttpHeaders& headers) {
  auto link = headers.get("Link");
  if (!link) return {};
  std::string_view text = *link;
  while (!text.empty()) {
    const auto comma = text.find(',');
    std::string_view part = text.substr(0, comma);
    const auto open = part.find('<');
    const auto close = part.find('>');
    if (open != std::string_view::npos && close != std::string_view::npos && close > open &&
        part.find("rel=\"next\"") != std::string_view::npos) {
      return std::string(part.substr(open + 1, close - open - 1));
    }
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return {};
}

Result<RepoInfo> repo_info(const HubContext& ctx, std::string_view revision) {
  const std::string url = api_url(ctx, fmt::format("/revision/{}?blobs=true", util_internal::percent_encode(revision, false)));
  const std::string what = fmt::format("repo info of {} at revision '{}'", ctx.cache.repo_id(), revision);
  HUBLOAD_ASSIGN_OR_RETURN(nlohmann::json doc, get_json(ctx, url, what));
  if (!doc.is_object()) return invalid_input(fmt::format("{}: {} is not a JSON object", what, url));
  RepoInfo info;
  info.id = string_field(doc, "id");
  info.sha = string_field(doc, "sha");
  if (!is_commit_hash(info.sha)) {
    return invalid_input(fmt::format("{}: {} has no 40-hex 'sha' (got '{}')", what, url, info.sha));
  }
  const bool has_siblings = doc.contains("siblings") && doc["siblings"].is_array() && !doc["siblings"].empty();
  if (!has_siblings || doc["siblings"].size() > 50000) {
    HUBLOAD_ASSIGN_OR_RETURN(info.files, list_tree(ctx, info.sha));
    return info;
  }
  for (const auto& sibling : doc["siblings"]) {
    HUBLOAD_ASSIGN_OR_RETURN(RepoFileInfo file, parse_entry(sibling, kSiblingKeys, url));
    info.files.push_back(std::move(file));
  }
  return info;
}

}  // namespace hubload::hub_internal

namespace hubload {

Result<RepoInfo> fetch_repo_info(std::string_view repo_id, const HubOptions& options) {
  HUBLOAD_ASSIGN_OR_RETURN(hub_internal::HubContext ctx, hub_internal::make_context(repo_id, options));
  if (ctx.offline) {
    return Error(ErrorKind::offline, fmt::format("repo info of {} needs the network, and offline mode is on", repo_id));
  }
  return hub_internal::repo_info(ctx, options.revision);
}

}  // namespace hubload
