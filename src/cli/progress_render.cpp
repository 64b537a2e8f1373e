#include "cli/progress_render.h"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "util/terminal_text.h"

namespace hubload::cli {

namespace {
const char* kind_name(TransferEventKind k) {
  switch (k) {
    case TransferEventKind::start: return "start";
    case TransferEventKind::progress: return "progress";
    case TransferEventKind::done: return "done";
    case TransferEventKind::retry: return "retry";
    case TransferEventKind::error: return "error";
    case TransferEventKind::waiting: return "waiting";
  }
  return "progress";
}

std::string fit(std::string s, std::size_t width) {
  if (s.size() <= width) return s;
  if (width <= 3) return s.substr(0, width);
  return "..." + s.substr(s.size() - (width - 3));
}

std::string percent(std::uint64_t a, std::uint64_t b) {
  return b == 0 ? "100%" : fmt::format("{:3d}%", static_cast<int>(a * 100 / b));
}
}  // namespace

std::string format_rate(double bps) {
  if (bps < 1e3) return fmt::format("{:.0f} B/s", bps);
  if (bps < 1e6) return fmt::format("{:.1f} kB/s", bps / 1e3);
  if (bps < 1e9) return fmt::format("{:.1f} MB/s", bps / 1e6);
  return fmt::format("{:.2f} GB/s", bps / 1e9);
}

std::string format_eta(double s) {
  if (!(s >= 0) || s > 99 * 3600) return "ETA --";
  auto t = static_cast<long>(s + 0.5);
  if (t >= 3600) return fmt::format("ETA {}h{:02d}m", t / 3600, (t % 3600) / 60);
  if (t >= 60) return fmt::format("ETA {}m{:02d}s", t / 60, t % 60);
  return fmt::format("ETA {}s", t);
}

void TtyProgress::update(const TransferEvent& e, double now) {
  total_bytes_ = e.total_bytes;
  total_size_ = e.total_size;
  received_ = e.bytes_received;
  now_ = now;
  // The rate is smoothed over windows of at least half a second, the first
  // starting at the first event (not at our creation: the metadata requests
  // before it would count as a slow start). Until that first window closes, a
  // provisional rate is shown once a tenth of a second has passed.
  if (!window_open_) {
    window_open_ = true;
    rate_at_ = now;
    rate_received_ = received_;
  }
  double elapsed = now - rate_at_;
  double inst = elapsed > 0 ? static_cast<double>(received_ - rate_received_) / elapsed : 0;
  if (elapsed >= 0.5) {
    rate_ = have_rate_ ? 0.5 * rate_ + 0.5 * inst : inst;
    have_rate_ = true;
    rate_at_ = now;
    rate_received_ = received_;
  } else if (!have_rate_ && elapsed >= 0.1) {
    rate_ = inst;
  }
  if (e.kind == TransferEventKind::done || e.kind == TransferEventKind::error) {
    active_.erase(e.file_index);
  } else {
    // The name is a repo path the server chose: a name holding ESC[2J must not
    // clear the screen.
    active_[e.file_index] = {util_internal::terminal_safe(e.name), e.file_bytes, e.file_size};
  }
}

std::string TtyProgress::frame() {
  std::string out = clear();
  std::size_t w = static_cast<std::size_t>(std::max(width_, 40));
  int lines = 0;
  for (const auto& [index, f] : active_) {
    std::string tail = fmt::format(" {} {:>10} / {:>10}", percent(f.bytes, f.size), format_bytes(f.bytes),
                                   format_bytes(f.size));
    // One column short of the width: writing the last column makes some terminals wrap.
    std::size_t name_w = w > tail.size() + 1 ? w - tail.size() - 1 : 1;
    out += fmt::format("{:<{}}", fit(f.name, name_w), name_w) + tail + "\n";
    ++lines;
  }
  double eta = rate_ > 0 ? static_cast<double>(total_size_ - std::min(total_bytes_, total_size_)) / rate_ : -1;
  out += fit(fmt::format("total {} {} / {}  {}  {}", percent(total_bytes_, total_size_), format_bytes(total_bytes_),
                         format_bytes(total_size_), format_rate(rate_), format_eta(eta)),
             w - 1) +
         "\n";
  lines_drawn_ = lines + 1;
  return out;
}

std::string TtyProgress::clear() {
  std::string out;
  for (int i = 0; i < lines_drawn_; ++i) out += "\x1b[1A\x1b[2K";
  lines_drawn_ = 0;
  return out;
}

std::string json_progress_line(const TransferEvent& e) {
  nlohmann::json j = {{"event", kind_name(e.kind)},     {"file", e.name},
                      {"index", e.file_index},          {"bytes", e.file_bytes},
                      {"size", e.file_size},            {"total_bytes", e.total_bytes},
                      {"total_size", e.total_size},     {"received", e.bytes_received},
                      {"connections", e.connections},  {"connection_limit", e.connection_limit}};
  if (!e.message.empty()) j["message"] = e.message;
  return j.dump() + "\n";
}

}  // namespace hubload::cli
