#include <fmt/format.h>

#include "hubload/cache.h"
#include "util/digest.h"

namespace hubload {
namespace {

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.';
}

Status check_part(std::string_view id, std::string_view part) {
  if (part.empty()) return invalid_input(fmt::format("repo id '{}' has an empty name part", id));
  if (part.size() > 96) return invalid_input(fmt::format("repo id '{}' is longer than 96 characters", id));
  for (char c : part) {
    if (!is_name_char(c)) {
      return invalid_input(fmt::format("repo id '{}' contains the character '{}' (allowed: letters, digits, '-', '_', '.')",
                                       id, c == ' ' ? std::string("space") : std::string(1, c)));
    }
  }
  if (part.find("--") != std::string_view::npos || part.find("..") != std::string_view::npos) {
    return invalid_input(fmt::format("repo id '{}' contains '--' or '..'", id));
  }
  if (part.front() == '-' || part.front() == '.' || part.back() == '-' || part.back() == '.') {
    return invalid_input(fmt::format("repo id '{}' starts or ends a name with '-' or '.'", id));
  }
  return ok();
}

}  // namespace

std::string_view to_string(RepoType type) {
  switch (type) {
    case RepoType::model: return "model";
    case RepoType::dataset: return "dataset";
    case RepoType::space: return "space";
  }
  return "model";
}

Result<RepoType> parse_repo_type(std::string_view text) {
  if (text == "model") return RepoType::model;
  if (text == "dataset") return RepoType::dataset;
  if (text == "space") return RepoType::space;
  return invalid_input(fmt::format("unknown repo type '{}' (expected model, dataset or space)", text));
}

std::string repo_folder_name(std::string_view repo_id, RepoType type) {
  std::string name = fmt::format("{}s--", to_string(type));
  for (char c : repo_id) {
    if (c == '/') {
      name += "--";
    } else {
      name += c;
    }
  }
  return name;
}

Result<RepoFolder> parse_repo_folder_name(std::string_view folder_name) {
  const auto sep = folder_name.find("--");
  // "models" is the plural of to_string(RepoType::model); the other types alike.
  Result<RepoType> type = sep == std::string_view::npos || sep == 0 || folder_name[sep - 1] != 's'
                              ? invalid_input("no type prefix")
                              : parse_repo_type(folder_name.substr(0, sep - 1));
  if (!type) {
    return invalid_input(fmt::format("'{}' is not a cache repo folder (models--, datasets-- or spaces--)", folder_name));
  }
  RepoFolder out;
  out.type = *type;
  const std::string_view rest = folder_name.substr(sep + 2);
  if (rest.find('/') != std::string_view::npos) {
    return invalid_input(fmt::format("cache folder name '{}' contains a '/'", folder_name));
  }
  // Only an "org--name" pair is a separator; validate_repo_id rejects any other "--".
  const auto org_end = rest.find("--");
  out.repo_id = org_end == std::string_view::npos
                    ? std::string(rest)
                    : fmt::format("{}/{}", rest.substr(0, org_end), rest.substr(org_end + 2));
  if (Status valid = validate_repo_id(out.repo_id); !valid) {
    return invalid_input(fmt::format("cache folder '{}': {}", folder_name, valid.error().message()));
  }
  return out;
}

Status validate_repo_id(std::string_view repo_id) {
  if (repo_id.empty()) return invalid_input("repo id is empty");
  const auto slash = repo_id.find('/');
  if (slash == std::string_view::npos) return check_part(repo_id, repo_id);
  if (repo_id.find('/', slash + 1) != std::string_view::npos) {
    return invalid_input(fmt::format("repo id '{}' has more than one '/' (expected 'org/name')", repo_id));
  }
  HUBLOAD_TRY(check_part(repo_id, repo_id.substr(0, slash)));
  return check_part(repo_id, repo_id.substr(slash + 1));
}

bool is_commit_hash(std::string_view revision) { return util_internal::is_git_sha1_hex(revision); }

Status validate_repo_file_path(std::string_view path) {
  auto bad = [&](std::string_view why) {
    return invalid_input(fmt::format("refusing repo file name '{}': {}", path, why));
  };
  if (path.empty()) return bad("empty");
  if (path.front() == '/') return bad("absolute path");
  if (path.find('\\') != std::string_view::npos) return bad("contains a backslash");
  if (path.find('\0') != std::string_view::npos) return bad("contains a NUL byte");
  if (path.size() >= 2 && path[1] == ':') return bad("drive-letter path");
  std::size_t start = 0;
  while (true) {
    const std::size_t end = path.find('/', start);
    const std::string_view segment = path.substr(start, end == std::string_view::npos ? end : end - start);
    if (segment.empty()) return bad("empty path segment");
    if (segment == "." || segment == "..") return bad("'.' or '..' segment escapes the snapshot");
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return ok();
}

}  // namespace hubload
