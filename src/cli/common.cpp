#include <fmt/format.h>

#include <cstdio>
#include <iostream>

#include "cli/command.h"
#include "util/terminal_text.h"

namespace hubload::cli {

int exit_code(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::internal: return 1;
    case ErrorKind::invalid_input: return 3;
    case ErrorKind::not_found: return 4;
    case ErrorKind::io: return 5;
    case ErrorKind::network: return 6;
    case ErrorKind::integrity: return 7;
    case ErrorKind::unauthorized: return 8;
    case ErrorKind::gated: return 9;
    case ErrorKind::offline: return 10;
    case ErrorKind::conflict: return 11;
    case ErrorKind::unsupported: return 12;
    case ErrorKind::rate_limited: return 13;
    case ErrorKind::cancelled: return 14;
    case ErrorKind::invalid_plan: return 15;
  }
  return 1;
}

int report_error(const Error& error, bool json) {
  if (json) {
    print_json({{"error", {{"kind", std::string(to_string(error.kind()))}, {"message", error.message()}}}});
  }
  // Messages quote server strings (names, URLs, excerpts of error pages).
  std::cerr << "hubload: " << util_internal::terminal_safe_lines(error.to_string()) << "\n";
  return exit_code(error.kind());
}

void print_warnings(const std::vector<std::string>& warnings) {
  // Warnings quote file and server strings too.
  for (const std::string& w : warnings) std::cerr << "hubload: warning: " << util_internal::terminal_safe_lines(w) << "\n";
}

void print_json(const nlohmann::json& doc) {
  std::cout << doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
}

std::string format_bytes(std::uint64_t bytes) {
  static const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  if (bytes < 1024) return fmt::format("{} B", bytes);
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024.0 && u < 5) {
    v /= 1024.0;
    ++u;
  }
  return fmt::format("{:.2f} {}", v, units[u]);
}

}  // namespace hubload::cli
