// The CLI's progress output: the TTY frame drawn in place and the JSON lines.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cli/progress_render.h"

namespace hubload::cli {
namespace {

TransferEvent event(TransferEventKind kind, std::size_t index, std::string name, std::uint64_t bytes,
                    std::uint64_t size, std::uint64_t total, std::uint64_t total_size, std::uint64_t received) {
  TransferEvent e;
  e.kind = kind;
  e.file_index = index;
  e.name = std::move(name);
  e.file_bytes = bytes;
  e.file_size = size;
  e.total_bytes = total;
  e.total_size = total_size;
  e.bytes_received = received;
  return e;
}

TEST(ProgressFormat, RatesAndEtas) {
  EXPECT_EQ(format_rate(512), "512 B/s");
  EXPECT_EQ(format_rate(1.5e6), "1.5 MB/s");
  EXPECT_EQ(format_rate(2.25e9), "2.25 GB/s");
  EXPECT_EQ(format_eta(4.4), "ETA 4s");
  EXPECT_EQ(format_eta(65), "ETA 1m05s");
  EXPECT_EQ(format_eta(3 * 3600 + 120), "ETA 3h02m");
  EXPECT_EQ(format_eta(-1), "ETA --");
}

TEST(TtyProgress, DrawsOneLinePerActiveFileAndATotalThenRedrawsInPlace) {
  TtyProgress p(60);
  p.update(event(TransferEventKind::start, 0, "model.safetensors", 0, 2048, 0, 3072, 0), 0.0);
  p.update(event(TransferEventKind::start, 1, "config.json", 0, 1024, 0, 3072, 0), 0.0);
  p.update(event(TransferEventKind::progress, 0, "model.safetensors", 1024, 2048, 1024, 3072, 1024), 1.0);
  std::string first = p.frame();
  EXPECT_EQ(first,
            "model.safetensors               50%   1.00 KiB /   2.00 KiB\n"
            "config.json                      0%        0 B /   1.00 KiB\n"
            "total  33% 1.00 KiB / 3.00 KiB  1.0 kB/s  ETA 2s\n");
  p.update(event(TransferEventKind::done, 1, "config.json", 1024, 1024, 2048, 3072, 2048), 2.0);
  std::string second = p.frame();
  // Three lines up-and-erase, then the new frame without the finished file.
  EXPECT_EQ(second.substr(0, 3 * 8), "\x1b[1A\x1b[2K\x1b[1A\x1b[2K\x1b[1A\x1b[2K");
  EXPECT_EQ(second.substr(3 * 8),
            "model.safetensors               50%   1.00 KiB /   2.00 KiB\n"
            "total  66% 2.00 KiB / 3.00 KiB  1.0 kB/s  ETA 1s\n");
  EXPECT_EQ(p.clear(), "\x1b[1A\x1b[2K\x1b[1A\x1b[2K");
  EXPECT_EQ(p.clear(), "");
}

// The first window opens at the first event, so time spent before the download
// (metadata requests) does not count; a rate shows after 0.1 s, not before.
TEST(TtyProgress, RateCountsFromTheFirstEventAndIsProvisionalUntilHalfASecond) {
  TtyProgress p(60);
  p.update(event(TransferEventKind::start, 0, "w.bin", 0, 100'000'000, 0, 100'000'000, 0), 5.0);
  p.update(event(TransferEventKind::progress, 0, "w.bin", 1'000'000, 100'000'000, 1'000'000, 100'000'000,
                 1'000'000), 5.05);
  EXPECT_NE(p.frame().find("0 B/s  ETA --"), std::string::npos);
  p.update(event(TransferEventKind::progress, 0, "w.bin", 20'000'000, 100'000'000, 20'000'000, 100'000'000,
                 20'000'000), 5.2);
  EXPECT_NE(p.frame().find("100.0 MB/s  ETA 1s"), std::string::npos);
  p.update(event(TransferEventKind::progress, 0, "w.bin", 60'000'000, 100'000'000, 60'000'000, 100'000'000,
                 60'000'000), 5.5);
  EXPECT_NE(p.frame().find("120.0 MB/s  ETA 0s"), std::string::npos);
}

TEST(TtyProgress, LongNamesAreShortenedFromTheLeft) {
  TtyProgress p(50);
  p.update(event(TransferEventKind::start, 0, std::string(50, 'a') + "/tail.bin", 0, 10, 0, 10, 0), 0.0);
  std::string f = p.frame();
  std::string first_line = f.substr(0, f.find('\n'));
  EXPECT_EQ(first_line.size(), 49u);  // the last column stays free
  EXPECT_EQ(first_line.substr(0, 3), "...");
  EXPECT_NE(first_line.find("tail.bin"), std::string::npos);
}

// A repo path chosen by the server is drawn escaped: a name holding ESC[2J
// must not clear the user's screen (issue 18).
TEST(TtyProgress, ServerChosenNamesAreDrawnEscaped) {
  TtyProgress p(80);
  p.update(event(TransferEventKind::start, 0, "evil\x1b[2J\x1b]0;x\x07.bin", 0, 10, 0, 10, 0), 0.0);
  const std::string f = p.frame();
  EXPECT_EQ(f.find('\x1b'), std::string::npos);  // nothing drawn before: no cursor moves of our own either
  EXPECT_NE(f.find("evil\\x1b[2J\\x1b]0;x\\x07.bin"), std::string::npos) << f;
}

TEST(JsonProgress, OneParsableObjectPerLine) {
  auto e = event(TransferEventKind::retry, 3, "x.bin", 5, 10, 7, 20, 9);
  e.connections = 2;
  e.message = "HTTP 503";
  std::string line = json_progress_line(e);
  ASSERT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1);
  auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["event"], "retry");
  EXPECT_EQ(j["file"], "x.bin");
  EXPECT_EQ(j["index"], 3);
  EXPECT_EQ(j["bytes"], 5);
  EXPECT_EQ(j["size"], 10);
  EXPECT_EQ(j["total_bytes"], 7);
  EXPECT_EQ(j["total_size"], 20);
  EXPECT_EQ(j["received"], 9);
  EXPECT_EQ(j["connections"], 2);
  EXPECT_EQ(j["message"], "HTTP 503");
}

}  // namespace
}  // namespace hubload::cli
