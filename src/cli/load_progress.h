// `hubload load`'s progress line on a terminal: one line, redrawn in place
// ("\r" + erase), from LoadOptions::progress. Pure: the caller writes the text.
#pragma once

#include <string>

#include "hubload/load.h"

namespace hubload::cli {

// "rank 1/8: 1.50 GiB of 6.00 GiB (25%), 2.10 GB/s, ETA 2s" after `seconds`.
std::string load_progress_text(const LoadProgress& progress, int world_size, double seconds);

// Draws at most every `interval` seconds (and always the last update), so that a
// load of many small batches does not spend its time on the terminal.
class LoadProgressLine {
 public:
  LoadProgressLine(int world_size, double interval = 0.1) : world_size_(world_size), interval_(interval) {}
  // The text to write for this update at `now` seconds since the start; empty when
  // nothing needs redrawing.
  std::string update(const LoadProgress& progress, double now);
  // Erases the line (before the summary or an error).
  std::string clear();

 private:
  int world_size_;
  double interval_;
  double last_draw_ = -1;
  bool drawn_ = false;
};

}  // namespace hubload::cli
