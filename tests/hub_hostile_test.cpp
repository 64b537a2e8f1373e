// The Hub client against a hostile Hub on 127.0.0.1 (issue 18): each test runs
// a server that answers what an attacker would, and asserts the clean error,
// the time it took, and (for the JSON bomb) the memory. HangGuard turns a hang
// into a failure.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "hubload/hub.h"
#include "support/error_expect.h"
#include "support/hostile_server.h"
#include "support/test_support.h"
#include "util/digest.h"

namespace hubload {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::fails_with;
using testing::HostileConnection;
using testing::HostileRequest;
using testing::HostileServer;
using testing::http_answer;

const std::string kCommit(40, 'a');
const std::string kOtherCommit(40, 'b');
const std::string kContent = "{\"model_type\": \"llama\"}\n";

HubOptions options_for(const HostileServer& hub, const testing::TempDir& cache) {
  HubOptions options;
  options.endpoint = hub.url();
  options.cache_dir = cache.path();
  options.no_token = true;
  options.transfer.backoff_base = milliseconds(1);
  options.transfer.backoff_max = milliseconds(10);
  options.transfer.stall_timeout = seconds(1);
  return options;
}

std::string sha256_of(const std::string& text) { return util_internal::sha256_hex(util_internal::bytes_of(text)); }

std::string resolve_head(const std::string& commit, const std::string& etag, std::size_t size,
                         const std::string& extra = {}) {
  return "X-Repo-Commit: " + commit + "\r\nETag: \"" + etag + "\"\r\nX-Linked-Size: " + std::to_string(size) +
         "\r\n" + extra;
}

// The first bytes of /etc/hostname, when it says enough to be recognised.
std::string local_secret() {
  std::ifstream in("/etc/hostname");
  std::string line;
  std::getline(in, line);
  return line.size() >= 6 ? line : std::string();
}

// Every scheme but http(s), from the Hub's 302 to its "CDN": refused before a
// single byte goes there, and the error does not quote the local file.
TEST(HubHostile, ALocationWithAnotherSchemeIsRefusedAndReachesNothing) {
  HostileServer listener([](const HostileRequest&, HostileConnection& c) { c.send("ok"); });
  const std::string port = std::to_string(listener.port());
  for (const std::string& location : {"gopher://127.0.0.1:" + port + "/_GET%20/", "dict://127.0.0.1:" + port + "/x",
                                     "ftp://127.0.0.1:" + port + "/x", std::string("file:///etc/hostname"),
                                     std::string("file:///dev/zero")}) {
    HostileServer hub([&](const HostileRequest&, HostileConnection& c) {
      c.send(http_answer(302, resolve_head(kCommit, sha256_of(kContent), kContent.size(), "Location: " + location + "\r\n")));
    });
    testing::TempDir cache;
    testing::HangGuard guard(seconds(30), "hub_download redirected to " + location);
    const auto start = std::chrono::steady_clock::now();
    Result<fs::path> path = hub_download("org/model", "config.json", options_for(hub, cache));
    EXPECT_LT(std::chrono::steady_clock::now() - start, seconds(5)) << location;
    EXPECT_TRUE(fails_with(path, ErrorKind::invalid_input, "only http:// and https://")) << location;
    if (!path && !local_secret().empty()) {
      EXPECT_EQ(path.error().message().find(local_secret()), std::string::npos) << path.error().to_string();
    }
  }
  EXPECT_EQ(listener.connections(), 0);
}

// A retried transfer from a server that keeps answering Range with 200 and a
// short body: each attempt starts the file over, so no attempt gains a byte,
// and the file fails after max_attempts + 1 requests.
TEST(HubHostile, RangeAnsweredWithAShortWholeBodyEndsAfterABoundedNumberOfRequests) {
  const std::string content(20000, 'w');
  HostileServer hub([&](const HostileRequest& r, HostileConnection& c) {
    if (r.method == "HEAD") {
      c.send(http_answer(200, resolve_head(kCommit, sha256_of(content), content.size())));
      return;
    }
    c.send("HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(content.size()) + "\r\nConnection: close\r\n\r\n" +
           content.substr(0, 100));
  });
  testing::TempDir cache;
  HubOptions options = options_for(hub, cache);
  options.transfer.max_attempts = 4;
  testing::HangGuard guard(seconds(60), "short 200 answers");
  const auto start = std::chrono::steady_clock::now();
  Result<fs::path> path = hub_download("org/model", "w.bin", options);
  EXPECT_LT(std::chrono::steady_clock::now() - start, seconds(10));
  EXPECT_TRUE(fails_with(path, ErrorKind::network, "giving up after 4 attempts"));
  EXPECT_EQ(hub.requests(), 1 + 5);  // the HEAD, then the first attempt and 4 retries
}

// A metadata answer dripping a byte a second fails once a window passes below
// the minimum rate, not when the drip ends.
TEST(HubHostile, ADrippingApiAnswerFailsWithinTheRateWindow) {
  HostileServer hub([](const HostileRequest&, HostileConnection& c) {
    if (!c.send("HTTP/1.1 200 OK\r\nContent-Length: 100000\r\nConnection: close\r\n\r\n{")) return;
    while (c.send(" ") && c.pause(seconds(1))) {
    }
  });
  testing::TempDir cache;
  testing::HangGuard guard(seconds(30), "dripping API answer");
  const auto start = std::chrono::steady_clock::now();
  Result<RepoInfo> info = fetch_repo_info("org/model", options_for(hub, cache));
  EXPECT_LT(std::chrono::steady_clock::now() - start, seconds(5));
  EXPECT_TRUE(fails_with(info, ErrorKind::network));
}

// A line of /proc/self/status in bytes: VmHWM, the peak resident memory since
// the last reset (resetting needs /proc/self/clear_refs, else it is the peak
// since the process started), or VmRSS, the current one.
std::size_t status_bytes(std::string_view key) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.starts_with(key)) return std::stoull(line.substr(key.size())) * 1024;
  }
  return 0;
}
bool reset_peak_rss() {
  std::ofstream clear("/proc/self/clear_refs");
  clear << "5";
  clear.flush();
  return static_cast<bool>(clear);
}

// Two million nested objects in 12 MB: refused by the depth check before any
// parser builds it (a DOM of it costs over 300 MB), with memory bounded.
TEST(HubHostile, ADeeplyNestedJsonAnswerIsRefusedWithBoundedMemory) {
  constexpr int kDepth = 2'000'000;
  std::string bomb;
  bomb.reserve(kDepth * 6 + 8);
  for (int i = 0; i < kDepth; ++i) bomb += "{\"a\":";
  bomb += "1";
  bomb.append(kDepth, '}');
  HostileServer hub([&](const HostileRequest&, HostileConnection& c) { c.send(http_answer(200, {}, bomb)); });
  testing::TempDir cache;
  testing::HangGuard guard(seconds(60), "JSON bomb");
  const bool reset = reset_peak_rss();
  const std::size_t before = status_bytes(reset ? "VmRSS:" : "VmHWM:");
  Result<RepoInfo> info = fetch_repo_info("org/model", options_for(hub, cache));
  const std::size_t peak = status_bytes("VmHWM:");
  const std::size_t growth = peak - std::min(before, peak);
  EXPECT_TRUE(fails_with(info, ErrorKind::invalid_input, "nested deeper than"));
  // The body itself (12 MB, collected in a doubling string) and little more,
  // with room for the sanitizers' own bookkeeping.
  EXPECT_LT(growth, std::size_t{128} << 20) << "peak RSS grew by " << (growth >> 20) << " MiB";
}

// A flat answer of tiny values, too many for a DOM within its bound: refused
// before it is parsed.
TEST(HubHostile, AnAnswerOfTooManyValuesIsRefusedBeforeItIsParsed) {
  std::string wide = R"({"id": "org/model", "siblings": [)";
  for (int i = 0; i < 1'000'000; ++i) wide += "0,";
  wide += "0]}";
  HostileServer hub([&](const HostileRequest&, HostileConnection& c) { c.send(http_answer(200, {}, wide)); });
  testing::TempDir cache;
  testing::HangGuard guard(seconds(60), "wide JSON");
  Result<RepoInfo> info = fetch_repo_info("org/model", options_for(hub, cache));
  EXPECT_TRUE(fails_with(info, ErrorKind::invalid_input, "more than 1000000 values"));
}

// The API's sha and the resolve answer's X-Repo-Commit disagree: an error
// naming both, no ref, no snapshot under either.
TEST(HubHostile, CommitDisagreementIsAnErrorAndPublishesNothing) {
  HostileServer hub([&](const HostileRequest& r, HostileConnection& c) {
    if (r.target.starts_with("/api/models/org/model/revision/")) {
      c.send(http_answer(200, {}, R"({"id": "org/model", "sha": ")" + kCommit + R"(", "siblings": [{"rfilename": "config.json"}]})"));
    } else if (r.method == "HEAD") {
      c.send(http_answer(200, resolve_head(kOtherCommit, sha256_of(kContent), kContent.size())));
    } else {
      c.send(http_answer(200, {}, kContent));
    }
  });
  testing::TempDir cache;
  DownloadOptions options;
  options.hub = options_for(hub, cache);
  options.allow_patterns = {"*"};
  testing::HangGuard guard(seconds(30), "commit disagreement");
  Result<DownloadResult> result = download_model("org/model", options);
  ASSERT_TRUE(fails_with(result, ErrorKind::invalid_input, kCommit));
  EXPECT_NE(result.error().message().find(kOtherCommit), std::string::npos) << result.error().to_string();
  const fs::path repo = cache.path() / "models--org--model";
  EXPECT_FALSE(fs::exists(repo / "refs" / "main"));
  EXPECT_FALSE(fs::exists(repo / "snapshots" / kCommit));
  EXPECT_FALSE(fs::exists(repo / "snapshots" / kOtherCommit));
}

// Server strings reach error messages escaped, and a long error page only as
// a short excerpt.
TEST(HubHostile, ServerTextInErrorsIsEscapedAndShort) {
  HostileServer hub([](const HostileRequest& r, HostileConnection& c) {
    if (r.target.find("escape") != std::string::npos) {
      c.send(http_answer(404, "X-Error-Message: gone\x1b[2J\x1b]0;owned\x07\r\n"));
    } else {
      c.send(http_answer(500, {}, std::string(290, 'e')));
    }
  });
  testing::TempDir cache;
  testing::HangGuard guard(seconds(30), "error texts");
  Result<fs::path> escaped = hub_download("org/model", "escape.json", options_for(hub, cache));
  ASSERT_TRUE(fails_with(escaped, ErrorKind::not_found, "gone\\x1b[2J\\x1b]0;owned\\x07"));
  EXPECT_EQ(escaped.error().message().find('\x1b'), std::string::npos);
  Result<RepoInfo> long_page = fetch_repo_info("org/model", options_for(hub, cache));  // a GET: the page is read
  ASSERT_TRUE(fails_with(long_page, ErrorKind::network, std::string(200, 'e') + "..."));
  EXPECT_EQ(long_page.error().message().find(std::string(201, 'e')), std::string::npos);
}

// An etag in upper-case hex names the same blob as in lower case (as Python
// accepts it); the blob is stored under the lower-case name.
TEST(HubHostile, UpperCaseHexEtagIsAcceptedAndNormalised) {
  const std::string etag = sha256_of(kContent);
  std::string upper = etag;
  for (char& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  HostileServer hub([&](const HostileRequest& r, HostileConnection& c) {
    if (r.method == "HEAD") c.send(http_answer(200, resolve_head(kCommit, upper, kContent.size())));
    else c.send(http_answer(200, {}, kContent));
  });
  testing::TempDir cache;
  testing::HangGuard guard(seconds(30), "upper-case etag");
  Result<fs::path> path = hub_download("org/model", "config.json", options_for(hub, cache));
  ASSERT_TRUE(path) << path.error().to_string();
  EXPECT_EQ(testing::read_file(*path), kContent);
  EXPECT_TRUE(fs::exists(cache.path() / "models--org--model" / "blobs" / etag));
}

// A repo file name of 255 bytes, the most a file system takes: its snapshot
// link is made through a shorter temporary name.
TEST(HubHostile, AFileNameOf255BytesDownloads) {
  HostileServer hub([&](const HostileRequest& r, HostileConnection& c) {
    if (r.method == "HEAD") c.send(http_answer(200, resolve_head(kCommit, sha256_of(kContent), kContent.size())));
    else c.send(http_answer(200, {}, kContent));
  });
  testing::TempDir cache;
  const std::string name = std::string(250, 'n') + ".json";
  testing::HangGuard guard(seconds(30), "long name");
  Result<fs::path> path = hub_download("org/model", name, options_for(hub, cache));
  ASSERT_TRUE(path) << path.error().to_string();
  EXPECT_EQ(path->filename().string(), name);
  EXPECT_EQ(testing::read_file(*path), kContent);
}

// What held in the probes of issue 18, kept: traversal in etags and commits,
// relative-redirect loops, and the token never leaves the Hub's host.
TEST(HubHostile, TraversalInEtagsAndCommitsAndRedirectLoopsAreRefused) {
  for (const auto& probe : {std::pair<std::string, std::string>{kCommit, "../../../../etc/x"},
                            {kCommit, ".."},
                            {"../../refs/main/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", sha256_of(kContent)}}) {
    const std::string commit = probe.first;
    const std::string etag = probe.second;
    HostileServer hub([&](const HostileRequest&, HostileConnection& c) {
      c.send(http_answer(200, resolve_head(commit, etag, kContent.size())));
    });
    testing::TempDir cache;
    testing::HangGuard guard(seconds(30), "traversal");
    Result<fs::path> path = hub_download("org/model", "config.json", options_for(hub, cache));
    EXPECT_TRUE(fails_with(path, ErrorKind::invalid_input, "a Hugging Face Hub?")) << commit << " " << etag;
    EXPECT_FALSE(fs::exists(cache.path().parent_path() / "etc"));
  }
  HostileServer loop([](const HostileRequest& r, HostileConnection& c) {
    c.send(http_answer(302, "Location: " + r.target + "\r\n"));
  });
  testing::TempDir cache;
  testing::HangGuard guard(seconds(30), "redirect loop");
  EXPECT_TRUE(fails_with(hub_download("org/model", "config.json", options_for(loop, cache)), ErrorKind::network,
                         "relative redirects"));
  EXPECT_LE(loop.requests(), 12);
}

TEST(HubHostile, TraversalInAWeightMapAndPaginationToAnotherHostAreRefused) {
  const std::string index = R"({"weight_map": {"a": "../../../x.safetensors"}})";
  HostileServer hub([&](const HostileRequest& r, HostileConnection& c) {
    const bool is_index = r.target.find("index.json") != std::string::npos;
    const std::string& body = is_index ? index : kContent;
    if (r.target.starts_with("/api/models/org/model/revision/")) {
      c.send(http_answer(200, {}, R"({"id": "org/model", "sha": ")" + kCommit +
                                      R"(", "siblings": [{"rfilename": "config.json"},
                                       {"rfilename": "model.safetensors.index.json"}]})"));
    } else if (r.method == "HEAD") {
      c.send(http_answer(200, resolve_head(kCommit, sha256_of(body), body.size())));
    } else {
      c.send(http_answer(200, {}, body));
    }
  });
  testing::TempDir cache;
  DownloadOptions options;
  options.hub = options_for(hub, cache);
  testing::HangGuard guard(seconds(30), "weight map traversal");
  EXPECT_TRUE(fails_with(download_model("org/model", options), ErrorKind::invalid_input, "'..'"));
  EXPECT_FALSE(fs::exists(cache.path().parent_path() / "x.safetensors"));

  HostileServer paginated([](const HostileRequest& r, HostileConnection& c) {
    if (r.target.find("/revision/") != std::string::npos) {
      c.send(http_answer(200, {}, R"({"id": "org/model", "sha": ")" + kCommit + R"(", "siblings": []})"));
    } else {
      c.send(http_answer(200, "Link: <http://localhost:1/api/models/org/model/tree/x?cursor=2>; rel=\"next\"\r\n", "[]"));
    }
  });
  HubOptions with_token = options_for(paginated, cache);
  with_token.no_token = false;
  with_token.token = "hf_secret_probe";
  EXPECT_TRUE(fails_with(fetch_repo_info("org/model", with_token), ErrorKind::invalid_input, "another host"));
}

TEST(HubHostile, TheTokenNeverFollowsARedirectToAnotherHost) {
  HostileServer cdn([&](const HostileRequest&, HostileConnection& c) { c.send(http_answer(200, {}, kContent)); });
  HostileServer hub([&](const HostileRequest&, HostileConnection& c) {
    // "localhost" is the same machine under another name: another host to the client.
    c.send(http_answer(302, resolve_head(kCommit, sha256_of(kContent), kContent.size(),
                                         "Location: http://localhost:" + std::to_string(cdn.port()) + "/blob\r\n")));
  });
  testing::TempDir cache;
  HubOptions options = options_for(hub, cache);
  options.no_token = false;
  options.token = "hf_secret_probe";
  testing::HangGuard guard(seconds(30), "cross-host token");
  Result<fs::path> path = hub_download("org/model", "config.json", options);
  ASSERT_TRUE(path) << path.error().to_string();
  ASSERT_FALSE(hub.log().empty());
  EXPECT_EQ(hub.log()[0].header("Authorization").value_or(""), "Bearer hf_secret_probe");
  ASSERT_FALSE(cdn.log().empty());
  for (const HostileRequest& r : cdn.log()) EXPECT_FALSE(r.header("Authorization")) << r.head;
}

}  // namespace
}  // namespace hubload
