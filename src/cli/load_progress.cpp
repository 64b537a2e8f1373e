#include "cli/load_progress.h"

#include <fmt/format.h>

#include "cli/command.h"
#include "cli/progress_render.h"

namespace hubload::cli {

std::string load_progress_text(const LoadProgress& p, int world_size, double seconds) {
  const double rate = seconds > 0 ? static_cast<double>(p.bytes_done) / seconds : 0;
  const std::uint64_t percent = p.bytes_total == 0 ? 100 : p.bytes_done * 100 / p.bytes_total;
  const double eta = rate > 0 ? static_cast<double>(p.bytes_total - p.bytes_done) / rate : -1;
  return fmt::format("rank {}/{}: {} of {} ({}%), {}, {}", p.rank, world_size, format_bytes(p.bytes_done),
                     format_bytes(p.bytes_total), percent, format_rate(rate), format_eta(eta));
}

std::string LoadProgressLine::update(const LoadProgress& p, double now) {
  const bool last = p.bytes_done >= p.bytes_total;
  if (!last && drawn_ && now - last_draw_ < interval_) return {};
  last_draw_ = now;
  drawn_ = true;
  return "\r\x1b[2K" + load_progress_text(p, world_size_, now);
}

std::string LoadProgressLine::clear() {
  if (!drawn_) return {};
  drawn_ = false;
  return "\r\x1b[2K";
}

}  // namespace hubload::cli
