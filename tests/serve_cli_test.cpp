// `hubload serve` as a process: prints its URL, serves, stops on SIGTERM.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "support/serve_fixture.h"

namespace hubload::testing {
namespace {

// Starts the CLI with stdout to a file; returns its pid.
pid_t spawn(const std::vector<std::string>& args, const std::filesystem::path& out) {
  pid_t pid = ::fork();
  if (pid == 0) {
    int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, 1);
    std::vector<char*> argv;
    std::string cli = cli_path().string();
    argv.push_back(cli.data());
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(cli.c_str(), argv.data());
    ::_exit(127);
  }
  return pid;
}

std::string wait_for_line(const std::filesystem::path& file) {
  for (int i = 0; i < 1000; ++i) {
    if (std::filesystem::exists(file)) {
      std::string s = read_file(file);
      if (s.find('\n') != std::string::npos) return s.substr(0, s.find('\n'));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return "";
}

int stop(pid_t pid) {
  ::kill(pid, SIGTERM);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

TEST(ServeCli, PrintsUrlServesAndStopsOnSigterm) {
  FakeHub hub;
  hub.model("acme/tiny").branch("main", {{"config.json", "{\"a\": 1}"}});
  std::filesystem::path folder = hub.write_folder("acme/tiny");
  std::filesystem::path out = hub.dir() / "out.txt", port_file = hub.dir() / "port";
  pid_t pid = spawn({"serve", "--repo", "local/tiny=" + folder.string(), "--port-file", port_file.string()}, out);
  std::string line = wait_for_line(out);
  const std::string prefix = "listening on http://127.0.0.1:";
  ASSERT_EQ(line.rfind(prefix, 0), 0u) << line;
  std::string port = line.substr(prefix.size());
  EXPECT_EQ(wait_for_line(port_file), port);

  httplib::Client cli("http://127.0.0.1:" + port);
  auto res = cli.Get("/local/tiny/resolve/main/config.json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "{\"a\": 1}");
  EXPECT_EQ(stop(pid), 0);
}

TEST(ServeCli, JsonModeWithCdnAndCache) {
  FakeHub hub;
  hub.model("acme/tiny").branch("main", {{"model.safetensors", "weights"}});
  std::filesystem::path cache = hub.write_cache();
  std::filesystem::path out = hub.dir() / "out.txt";
  pid_t pid = spawn({"serve", "--cache", cache.string(), "--cdn", "--json"}, out);
  std::string line = wait_for_line(out);
  auto j = nlohmann::json::parse(line, nullptr, false);
  ASSERT_TRUE(j.is_object()) << line;
  ASSERT_TRUE(j.contains("cdn_port")) << line;
  httplib::Client cli(j["url"].get<std::string>());
  auto res = cli.Head("/acme/tiny/resolve/main/model.safetensors");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 302);
  EXPECT_EQ(stop(pid), 0);
}

TEST(ServeCli, HostileClientOptionsReachTheServer) {
  TempDir folder, outside;
  write_file(outside / "secret.txt", "linked");
  std::filesystem::create_symlink(outside / "secret.txt", folder / "link.txt");
  std::filesystem::path out = folder.path().parent_path() / (folder.path().filename().string() + ".out");
  pid_t pid = spawn({"serve", "--repo", "local/links=" + folder.path().string(), "--follow-symlinks", "any",
                     "--max-connections-per-client", "1", "--json"},
                    out);
  std::string line = wait_for_line(out);
  ASSERT_FALSE(line.empty());
  httplib::Client cli(nlohmann::json::parse(line)["url"].get<std::string>());
  cli.set_keep_alive(true);  // holds the one connection allowed
  auto res = cli.Get("/local/links/resolve/main/link.txt");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "linked");
  httplib::Client second(nlohmann::json::parse(line)["url"].get<std::string>());
  EXPECT_TRUE(answered(second.Get("/local/links/resolve/main/link.txt"), 503));
  EXPECT_EQ(stop(pid), 0);
  std::filesystem::remove(out);
  for (const char* bad : {"--follow-symlinks=nowhere", "--max-connections-per-client=0"}) {
    auto r = run_command(cli_path().string() + " serve --cache /tmp " + bad + " 2>&1");
    EXPECT_EQ(r.exit_code, 2) << bad << ": " << r.out;
  }
}

TEST(ServeCli, BadArgumentsFailWithInvalidInput) {
  auto r = run_command(cli_path().string() + " serve --repo a/b=/nonexistent-dir-xyz 2>&1");
  EXPECT_EQ(r.exit_code, 3) << r.out;
  EXPECT_NE(r.out.find("nonexistent-dir-xyz"), std::string::npos) << r.out;
  r = run_command(cli_path().string() + " serve --cache /tmp --inject-fault explode 2>&1");
  EXPECT_EQ(r.exit_code, 3) << r.out;
  r = run_command(cli_path().string() + " serve --help");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("--inject-fault"), std::string::npos);
}

}  // namespace
}  // namespace hubload::testing
