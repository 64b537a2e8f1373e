#include "support/transfer_child.h"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <thread>

extern char** environ;

namespace hubload::testing {

std::vector<std::string> child_arguments(const TransferFile& file) {
  return {file.url, file.dest.string(), std::to_string(file.size), file.expected_hash};
}

std::optional<TransferFile> file_from_child_arguments(int argc, char** argv) {
  if (argc != 5) return std::nullopt;
  TransferFile f;
  f.url = argv[1];
  f.dest = argv[2];
  f.size = std::stoull(argv[3]);
  f.expected_hash = argv[4];
  return f;
}

pid_t spawn_transfer_child(const std::string& program, const TransferFile& file) {
  std::vector<std::string> args = child_arguments(file);
  args.insert(args.begin(), program);
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  if (::posix_spawn(&pid, program.c_str(), nullptr, nullptr, argv.data(), environ) != 0) return -1;
  return pid;
}

int wait_child(pid_t pid, std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  int status = 0;
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace hubload::testing
