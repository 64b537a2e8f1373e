#include "support/hub_expect.h"

#include <filesystem>

#include "hubload/cache.h"
#include "support/error_expect.h"

namespace hubload::testing {

::testing::AssertionResult gated_repo_opens_only_with(DownloadOptions options, const std::string& repo,
                                                      const std::string& token) {
  auto without = download_model(repo, options);
  if (auto r = fails_with(without, ErrorKind::gated); !r) return r << " (without a token)";
  const std::string wrong_token = "hf_wrong_" + token;
  options.hub.no_token = false;
  options.hub.token = wrong_token;
  auto wrong = download_model(repo, options);
  if (auto r = fails_with(wrong, ErrorKind::gated); !r) return r << " (with a wrong token)";
  if (wrong.error().message().find(wrong_token) != std::string::npos) {
    return ::testing::AssertionFailure() << "the error shows the token: " << wrong.error().to_string();
  }
  options.hub.token = token;
  auto with = download_model(repo, options);
  if (!with) return ::testing::AssertionFailure() << "with the token: " << with.error().to_string();
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult hub_answers_not_found(DownloadOptions options, const std::string& repo,
                                                 const std::string& main_commit) {
  auto no_repo = download_model(repo + "-that-does-not-exist", options);
  if (auto r = fails_with(no_repo, ErrorKind::not_found, "repo not found"); !r) return r << " (a missing repo)";
  options.hub.revision = "no-such-branch";
  auto no_revision = download_model(repo, options);
  if (auto r = fails_with(no_revision, ErrorKind::not_found, "revision not found"); !r) {
    return r << " (a missing revision)";
  }
  options.hub.revision = "main";
  auto no_file = hub_download(repo, "missing.txt", options.hub);
  if (auto r = fails_with(no_file, ErrorKind::not_found); !r) return r << " (a missing file)";
  if (!options.hub.cache_dir) return ::testing::AssertionFailure() << "options.hub.cache_dir is not set";
  const std::filesystem::path marker = *options.hub.cache_dir / repo_folder_name(repo, RepoType::model) /
                                       ".no_exist" / main_commit / "missing.txt";
  if (!std::filesystem::exists(marker)) return ::testing::AssertionFailure() << "no marker " << marker;
  return ::testing::AssertionSuccess();
}

}  // namespace hubload::testing
