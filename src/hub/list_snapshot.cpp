#include "hub/repo_listing.h"

namespace hubload::hub_internal {

std::vector<std::string> list_snapshot(const std::filesystem::path& snapshot_dir) {
  std::vector<std::string> files;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(snapshot_dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    std::error_code stat_ec;
    // Readers accept a symlink or a regular file; a dangling link is not a file.
    if (std::filesystem::is_regular_file(it->path(), stat_ec)) {
      files.push_back(it->path().lexically_relative(snapshot_dir).generic_string());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace hubload::hub_internal
