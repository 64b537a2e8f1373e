#include "hub/file_metadata.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include <fmt/format.h>

#include "util/terminal_text.h"

namespace hubload::hub_internal {
namespace {

bool is_redirect(int status) { return status >= 300 && status < 400; }

// A Location without a scheme and host, e.g. "/new-org/new-name/resolve/main/x".
bool is_relative(std::string_view location) {
  return location.starts_with('/') && !location.starts_with("//");
}

std::optional<std::uint64_t> parse_size(const std::optional<std::string>& text) {
  if (!text || text->empty()) return std::nullopt;
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc() || end != text->data() + text->size()) return std::nullopt;
  return value;
}

// Etags name files in blobs/: only what a hash or a plain tag can contain.
bool is_safe_etag(std::string_view etag) {
  if (etag.empty() || etag.size() > 128 || etag == "." || etag == "..") return false;
  for (char c : etag) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                    c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

std::string normalize_etag(std::string_view etag) {
  if (etag.starts_with("W/")) etag.remove_prefix(2);
  while (!etag.empty() && etag.front() == '"') etag.remove_prefix(1);
  while (!etag.empty() && etag.back() == '"') etag.remove_suffix(1);
  std::string out(etag);
  // A hash in upper case names the same blob as in lower case (blob names and
  // the engine's expected hashes are lower-case hex).
  const bool hex = std::all_of(out.begin(), out.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
  if (hex && (out.size() == 40 || out.size() == 64)) {
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

Result<Answer> send_following_relative(const HubContext& ctx, HttpRequest request) {
  for (int hop = 0; hop <= kMaxRelativeRedirects; ++hop) {
    HUBLOAD_ASSIGN_OR_RETURN(HttpResponse response, ctx.transport->send(request));
    if (!is_redirect(response.status)) return Answer{std::move(response), request.url};
    auto location = response.headers.get("Location");
    if (!location || location->empty()) {
      return invalid_input(fmt::format("{} {}: HTTP {} without a Location header", request.method, request.url,
                                       response.status));
    }
    if (!is_relative(*location)) return Answer{std::move(response), request.url};
    // Same host, new path; the query of the Location is dropped like Python does.
    std::string path = location->substr(0, location->find('?'));
    request.url = url_origin(request.url) + path;
    request.headers = request_headers(ctx, request.url);
  }
  return network_error(fmt::format("{}: more than {} relative redirects", request.url, kMaxRelativeRedirects));
}

HeadOutcome head_file(const HubContext& ctx, std::string_view revision, std::string_view path) {
  const std::string url = resolve_url(ctx, revision, path);
  Result<Answer> answer = send_following_relative(ctx, make_request(ctx, "HEAD", url));
  if (!answer) return {std::move(answer).error(), std::nullopt};
  const HttpResponse& response = answer->response;
  const std::string what = fmt::format("{} at revision '{}' of {}", path, revision, ctx.cache.repo_id());
  if (!is_redirect(response.status) && (response.status < 200 || response.status >= 300)) {
    std::optional<std::string> commit;
    if (response.headers.get("X-Error-Code") == "EntryNotFound") commit = response.headers.get("X-Repo-Commit");
    return {hub_error(response, url, what), commit};
  }
  auto fail = [&](std::string why) -> HeadOutcome {
    return {invalid_input(fmt::format("{}: the server's answer ({}, HTTP {}) {}; is {} a Hugging Face Hub?", what,
                                      answer->url, response.status, why, ctx.endpoint)),
            std::nullopt};
  };
  FileMetadata meta;
  meta.commit = response.headers.get("X-Repo-Commit").value_or("");
  if (meta.commit.empty()) return fail("has no X-Repo-Commit header");
  if (!is_commit_hash(meta.commit)) return fail("has an X-Repo-Commit that is not 40 hex characters");
  if (is_commit_hash(revision) && meta.commit != revision) {
    // Files are published under the commit the server names: it must be the
    // one asked for, or they would land in a snapshot nobody asked for.
    return {invalid_input(fmt::format("{}: asked for commit {}, the server answered X-Repo-Commit {} ({})", what,
                                      revision, meta.commit, answer->url)),
            std::nullopt};
  }
  auto etag = response.headers.get("X-Linked-Etag");
  if (!etag) etag = response.headers.get("ETag");
  if (!etag) return fail("has no ETag or X-Linked-Etag header");
  meta.etag = normalize_etag(*etag);
  if (!is_safe_etag(meta.etag)) {
    return fail(fmt::format("has an unusable etag '{}'", util_internal::terminal_excerpt(meta.etag, 80)));
  }
  auto size = parse_size(response.headers.get("X-Linked-Size"));
  if (!size && !is_redirect(response.status)) size = parse_size(response.headers.get("Content-Length"));
  if (!size) return fail("has no usable X-Linked-Size or Content-Length header");
  meta.size = *size;
  meta.location = is_redirect(response.status) ? resolve_location(answer->url, *response.headers.get("Location"))
                                               : answer->url;
  // The bytes are fetched from there: only http(s), never down from https.
  if (Status allowed = check_redirect_target(ctx.endpoint, meta.location); !allowed) {
    return {std::move(allowed).error().with_context(what), std::nullopt};
  }
  return {std::move(meta), std::nullopt};
}

}  // namespace hubload::hub_internal
