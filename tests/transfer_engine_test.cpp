// The transfer engine against a local origin with scripted faults: every run
// ends in a published file whose hash was checked, or in a clear error with
// nothing published and no corrupt partial left to adopt.
#include <gtest/gtest.h>

#include <filesystem>
#include <optional>
#include <random>
#include <span>
#include <vector>

#include "hubload/file.h"
#include "hubload/transfer.h"
#include "support/test_support.h"
#include "support/transfer_origin.h"
#include "support/transfer_data.h"
#include "transfer/journal.h"

namespace hubload {
namespace {

namespace fs = std::filesystem;
using testing::git_sha1_hex;
using testing::random_bytes;
using testing::sha256_hex;
using testing::OriginFaults;
using testing::TempDir;
using testing::TransferOrigin;




int leftovers(const fs::path& dir) {
  int n = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().string().ends_with(".incomplete")) ++n;
  }
  return n;
}

TransferOptions fast_options() {
  TransferOptions o = testing::fast_transfer_options();
  o.stall_timeout = std::chrono::milliseconds(300);
  return o;
}

class TransferEngine : public ::testing::Test {
 protected:
  void SetUp() override {
    content_ = random_bytes(4 << 20, 7);
    origin_.add_file("/blob", content_);
    file_ = testing::transfer_file(origin_.url("/blob"), (dir_ / "blobs" / "target").string(), content_);
  }

  Result<TransferStats> fetch(const TransferOptions& o) { return download_files(std::span(&file_, 1), o); }

  void expect_published() {
    ASSERT_TRUE(fs::exists(file_.dest));
    EXPECT_EQ(sha256_hex(testing::read_file(file_.dest)), sha256_hex(content_));
    EXPECT_EQ(leftovers(fs::path(file_.dest).parent_path()), 0);
  }

  TempDir dir_;
  TransferOrigin origin_;
  std::string content_;
  TransferFile file_;
};

TEST_F(TransferEngine, RangedDownloadIsVerifiedAndPublished) {
  auto stats = fetch(fast_options());
  ASSERT_TRUE(stats) << stats.error().to_string();
  expect_published();
  EXPECT_EQ(stats->bytes_received, content_.size());
  EXPECT_GE(stats->requests, 4u);  // several ranges, not one stream
  // A connection whose range was split stops early; the server may have sent a
  // little more than we kept, never a whole extra piece per connection.
  EXPECT_LE(origin_.body_bytes_sent(), content_.size() + 4 * (256u << 10));
}

TEST_F(TransferEngine, GitSha1EtagIsChecked) {
  file_.expected_hash = git_sha1_hex(content_);
  auto stats = fetch(fast_options());
  ASSERT_TRUE(stats) << stats.error().to_string();
  expect_published();
}

TEST_F(TransferEngine, ServerIgnoringRangeFallsBackToOneCleanStream) {
  origin_.set_faults({.ignore_range = true});
  auto stats = fetch(fast_options());
  ASSERT_TRUE(stats) << stats.error().to_string();
  expect_published();
}

TEST_F(TransferEngine, RetriesServerErrorsHonouringRetryAfter) {
  origin_.set_faults({.error_first = 3, .error_status = 503, .error_headers = "Retry-After: 0\r\n"});
  auto stats = fetch(fast_options());
  ASSERT_TRUE(stats) << stats.error().to_string();
  expect_published();
  EXPECT_EQ(stats->retries, 3u);
}

TEST_F(TransferEngine, RetriesRateLimitsFromTheRateLimitHeader) {
  origin_.set_faults({.error_first = 2, .error_status = 429, .error_headers = "RateLimit: \"api\";r=0;t=0\r\n"});
  auto o = fast_options();
  auto stats = fetch(o);
  ASSERT_TRUE(stats) << stats.error().to_string();
  expect_published();
  EXPECT_EQ(stats->retries, 2u);
}

TEST_F(TransferEngine, ResumesTruncatedBodiesWithoutRefetchingWhatArrived) {
  origin_.set_faults({.drop_first = 3, .drop_after = 100'000});
  auto stats = fetch(fast_options());
  ASSERT_TRUE(stats) << stats.error().to_string();
  expect_published();
  EXPECT_EQ(stats->retries, 3u);
  EXPECT_EQ(stats->bytes_received, content_.size());
}

TEST_F(TransferEngine, AbortsAndRetriesAStalledConnection) {
  origin_.set_faults({.drop_after = 50'000, .stall_first = 1, .stall_ms = 1500});
  auto stats = fetch(fast_options());
  ASSERT_TRUE(stats) << stats.error().to_string();
  expect_published();
  EXPECT_GE(stats->retries, 1u);
}

TEST_F(TransferEngine, CorruptBytesAreFetchedAgainFromScratchOnce) {
  origin_.set_faults({.corrupt_first = 1});
  std::vector<std::string> retries;
  auto o = fast_options();
  o.on_event = [&](const TransferEvent& e) {
    if (e.kind == TransferEventKind::retry) retries.push_back(e.message);
    return true;
  };
  auto stats = fetch(o);
  ASSERT_TRUE(stats) << stats.error().to_string();
  expect_published();
  ASSERT_EQ(retries.size(), 1u);
  EXPECT_NE(retries[0].find("integrity check failed"), std::string::npos);
  EXPECT_EQ(stats->bytes_received, 2 * content_.size());
}

TEST_F(TransferEngine, PersistentCorruptionFailsNamingBothHashesAndPublishesNothing) {
  origin_.set_faults({.corrupt_first = 1000});
  auto stats = fetch(fast_options());
  ASSERT_FALSE(stats);
  EXPECT_EQ(stats.error().kind(), ErrorKind::integrity);
  EXPECT_NE(stats.error().message().find(file_.expected_hash), std::string::npos);
  EXPECT_NE(stats.error().message().find("target"), std::string::npos);
  EXPECT_FALSE(fs::exists(file_.dest));
  EXPECT_EQ(leftovers(fs::path(file_.dest).parent_path()), 0);
}

TEST_F(TransferEngine, WrongExpectedSizeIsAnErrorNotAPublish) {
  file_.size = content_.size() + 10;
  auto stats = fetch(fast_options());
  ASSERT_FALSE(stats);
  EXPECT_EQ(stats.error().kind(), ErrorKind::invalid_input);
  EXPECT_FALSE(fs::exists(file_.dest));
}

TEST_F(TransferEngine, MissingFileIsNotFound) {
  file_.url = origin_.url("/nope");
  auto stats = fetch(fast_options());
  ASSERT_FALSE(stats);
  EXPECT_EQ(stats.error().kind(), ErrorKind::not_found);
  EXPECT_NE(stats.error().message().find("HTTP 404"), std::string::npos);
}

TEST_F(TransferEngine, GivesUpAfterTheAllowedAttempts) {
  origin_.set_faults({.error_first = 1000, .error_status = 502});
  auto o = fast_options();
  o.max_attempts = 3;
  auto stats = fetch(o);
  ASSERT_FALSE(stats);
  EXPECT_EQ(stats.error().kind(), ErrorKind::network);
  EXPECT_NE(stats.error().message().find("giving up after 3 attempts: HTTP 502"), std::string::npos);
  EXPECT_FALSE(fs::exists(file_.dest));
}

TEST_F(TransferEngine, CancelledDownloadResumesFetchingOnlyWhatWasMissing) {
  origin_.set_faults({.bytes_per_second = 4 << 20});
  auto o = fast_options();
  std::uint64_t on_disk_at_cancel = 0;
  o.on_event = [&](const TransferEvent& e) {
    if (e.kind == TransferEventKind::progress && e.file_bytes > content_.size() / 3) {
      on_disk_at_cancel = e.file_bytes;
      return false;
    }
    return true;
  };
  auto first = fetch(o);
  ASSERT_FALSE(first);
  EXPECT_EQ(first.error().kind(), ErrorKind::cancelled);
  EXPECT_FALSE(fs::exists(file_.dest));
  EXPECT_EQ(leftovers(fs::path(file_.dest).parent_path()), 2);  // data + journal

  origin_.set_faults({});
  auto second = fetch(fast_options());
  ASSERT_TRUE(second) << second.error().to_string();
  expect_published();
  EXPECT_GE(second->bytes_resumed, on_disk_at_cancel);
  EXPECT_EQ(second->bytes_received + second->bytes_resumed, content_.size());
}

// Bytes claimed by the journal files in `dir` right now, as synced or as written.
std::uint64_t claimed_bytes(const fs::path& dir, bool written) {
  std::uint64_t n = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (!e.path().string().ends_with(".journal.incomplete")) continue;
    if (auto j = transfer_internal::load_journal(e.path().string())) {
      for (const auto& r : written ? j->written : j->ranges) n += r.size();
    }
  }
  return n;
}

// The journal claims bytes as synced only once they have been written for
// sync_delay (and synced); with no delay it does so while the download runs.
// It claims them as written at once either way.
TEST_F(TransferEngine, JournalClaimsBytesOnlyAfterTheSyncDelay) {
  std::string big = random_bytes(24 << 20, 13);
  origin_.add_file("/big", big);
  origin_.set_faults({.bytes_per_second = 8 << 20});
  for (auto delay : {std::chrono::milliseconds(3'600'000), std::chrono::milliseconds(0)}) {
    SCOPED_TRACE("sync_delay " + std::to_string(delay.count()) + " ms");
    TempDir dir;
    TransferFile f = testing::transfer_file(origin_.url("/big"), (dir / "big").string(), big);
    auto o = fast_options();
    o.journal_interval = std::chrono::milliseconds(10);
    o.sync_delay = delay;
    std::uint64_t claimed_late = 0, written_late = 0;
    o.on_event = [&](const TransferEvent& e) {
      if (e.kind == TransferEventKind::progress && e.file_bytes > big.size() * 3 / 4 && claimed_late == 0) {
        claimed_late = std::max<std::uint64_t>(claimed_bytes(dir.path(), false), 1);  // 1: looked, found none
        written_late = claimed_bytes(dir.path(), true);
      }
      return true;
    };
    auto r = download_files(std::span(&f, 1), o);
    ASSERT_TRUE(r) << r.error().to_string();
    EXPECT_EQ(sha256_hex(testing::read_file(f.dest)), f.expected_hash);
    ASSERT_GT(claimed_late, 0u) << "no progress event past three quarters";
    EXPECT_GT(written_late, big.size() / 2);
    if (delay.count() > 0) {
      EXPECT_EQ(claimed_late, 1u);
    } else {
      EXPECT_GT(claimed_late, 1u);
    }
  }
}

TEST_F(TransferEngine, ProgressEventsEndWithTotalsEqualToTheBytesWritten) {
  TransferFile other = file_;
  std::string small = random_bytes(1000, 9);
  origin_.add_file("/small", small);
  other.url = origin_.url("/small");
  other.dest = (dir_ / "blobs" / "small").string();
  other.size = small.size();
  other.expected_hash = git_sha1_hex(small);
  std::vector<TransferFile> files{file_, other};
  std::vector<TransferEvent> events;
  auto o = fast_options();
  o.on_event = [&](const TransferEvent& e) {
    events.push_back(e);
    return true;
  };
  auto stats = download_files(files, o);
  ASSERT_TRUE(stats) << stats.error().to_string();
  int starts = 0, dones = 0;
  for (const auto& e : events) {
    starts += e.kind == TransferEventKind::start;
    dones += e.kind == TransferEventKind::done;
    EXPECT_LE(e.total_bytes, e.total_size);
  }
  EXPECT_EQ(starts, 2);
  EXPECT_EQ(dones, 2);
  EXPECT_EQ(events.back().total_bytes, content_.size() + small.size());
  EXPECT_EQ(events.back().total_size, content_.size() + small.size());
  EXPECT_EQ(testing::read_file(other.dest), small);
}

// What the MPI mode's senders rely on: every reported byte can be read from
// the partial, and a partial opened before the publish then reads the file.
struct PrefixReader {
  std::vector<TransferPrefix> reports;
  std::optional<ReadFile> file;  // the partial as opened at the last report
  std::string read_so_far;       // the reported prefix, read as the callback ran

  PrefixCallback callback() {
    return [this](const TransferPrefix& p) {
      if (reports.empty() || reports.back().generation != p.generation) read_so_far.clear();
      reports.push_back(p);
      auto opened = ReadFile::open(p.partial);
      ASSERT_TRUE(opened) << opened.error().to_string();
      std::string more(p.prefix - read_so_far.size(), '\0');
      ASSERT_TRUE(opened->read_at(read_so_far.size(), std::as_writable_bytes(std::span(more))));
      read_so_far += more;
      file.emplace(std::move(*opened));
    };
  }
};

TransferOptions reading_options(PrefixReader& reader) {
  TransferOptions o = fast_options();
  o.on_prefix = reader.callback();
  return o;
}

TEST_F(TransferEngine, APartialOpenedOnEachPrefixReportReadsTheFileAsItArrives) {
  PrefixReader reader;
  auto stats = fetch(reading_options(reader));
  ASSERT_TRUE(stats) << stats.error().to_string();
  expect_published();
  ASSERT_GE(reader.reports.size(), 3u);  // begun, then grown more than once
  EXPECT_EQ(reader.reports.front().prefix, 0u);
  for (std::size_t i = 0; i < reader.reports.size(); ++i) {
    EXPECT_EQ(reader.reports[i].generation, 1u);
    if (i > 0) {
      EXPECT_GT(reader.reports[i].prefix, reader.reports[i - 1].prefix);
    }
  }
  EXPECT_EQ(reader.reports.back().prefix, content_.size());
  EXPECT_EQ(reader.read_so_far, content_);
  // The open partial is now the published file.
  std::string again(content_.size(), '\0');
  ASSERT_TRUE(reader.file->read_at(0, std::as_writable_bytes(std::span(again))));
  EXPECT_EQ(again, content_);
}

TEST_F(TransferEngine, AFileBegunAgainAfterCorruptionIsANewPrefixGeneration) {
  origin_.set_faults({.corrupt_first = 1});
  PrefixReader reader;
  auto stats = fetch(reading_options(reader));
  ASSERT_TRUE(stats) << stats.error().to_string();
  expect_published();
  ASSERT_FALSE(reader.reports.empty());
  EXPECT_EQ(reader.reports.back().generation, 2u);
  EXPECT_EQ(reader.reports.back().prefix, content_.size());
  EXPECT_EQ(reader.read_so_far, content_);  // the second generation's bytes, read afresh
}

TEST_F(TransferEngine, AlreadyPublishedFileIsNotFetchedAgain) {
  ASSERT_TRUE(fetch(fast_options()));
  int before = origin_.requests();
  auto again = fetch(fast_options());
  ASSERT_TRUE(again);
  EXPECT_EQ(again->files_already_present, 1u);
  EXPECT_EQ(origin_.requests(), before);
}

TEST_F(TransferEngine, EmptyFileNeedsNoRequest) {
  origin_.add_file("/empty", "");
  file_.url = origin_.url("/empty");
  file_.size = 0;
  file_.expected_hash = "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391";
  auto stats = fetch(fast_options());
  ASSERT_TRUE(stats) << stats.error().to_string();
  EXPECT_TRUE(fs::exists(file_.dest));
  EXPECT_EQ(origin_.requests(), 0);
}

}  // namespace
}  // namespace hubload
