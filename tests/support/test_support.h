// Helpers every test uses: a temporary folder removed at scope exit, file
// writing, and the paths of the shared test data and of the built CLI.
#pragma once

#include <cstddef>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

namespace hubload::testing {

std::filesystem::path testdata_dir();  // tests/testdata (real configs; SOURCES.md says where each came from)
std::filesystem::path cli_path();      // the built `hubload` executable

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& rel) const { return path_ / rel; }

 private:
  std::filesystem::path path_;
};

void write_file(const std::filesystem::path& path, std::string_view content);
void write_file(const std::filesystem::path& path, std::span<const std::byte> content);
std::string read_file(const std::filesystem::path& path);

// Runs a shell command line; returns its exit status and captures stdout.
struct CommandResult {
  int exit_code = -1;
  std::string out;
};
CommandResult run_command(const std::string& command_line);

}  // namespace hubload::testing
