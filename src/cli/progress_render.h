// Turns the transfer engine's events into terminal output, without printing:
// the caller writes the returned text. Pure and table-tested.
//
// - TtyProgress: one line per active file and a total line (bytes, rate, ETA),
//   redrawn in place with ANSI cursor-up / erase-line.
// - json_progress_line: one JSON object per event, for scripts.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>

#include "hubload/transfer.h"

namespace hubload::cli {

class TtyProgress {
 public:
  explicit TtyProgress(int width = 80) : width_(width) {}

  // Records an event at `now` (seconds since the start).
  void update(const TransferEvent& e, double now);
  // The text that erases the previous frame and draws the current one.
  std::string frame();
  // Erases the last frame (before printing an error or the final summary).
  std::string clear();

 private:
  struct FileLine {
    std::string name;
    std::uint64_t bytes = 0, size = 0;
  };
  int width_;
  std::map<std::size_t, FileLine> active_;
  std::uint64_t total_bytes_ = 0, total_size_ = 0, received_ = 0;
  double now_ = 0, rate_ = 0, rate_at_ = 0;
  bool window_open_ = false, have_rate_ = false;
  std::uint64_t rate_received_ = 0;
  int lines_drawn_ = 0;
};

// "12.3 MB/s", "ETA 1m05s" helpers, exposed for tests.
std::string format_rate(double bytes_per_second);
std::string format_eta(double seconds);

// {"event":"progress","file":"model.safetensors","index":0,"bytes":..,"size":..,
//  "total_bytes":..,"total_size":..,"received":..,"connections":..[,"message":..]}
std::string json_progress_line(const TransferEvent& e);

}  // namespace hubload::cli
