#include "hubload/error.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace hubload {

std::string_view to_string(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::invalid_input: return "invalid_input";
    case ErrorKind::not_found: return "not_found";
    case ErrorKind::io: return "io";
    case ErrorKind::network: return "network";
    case ErrorKind::integrity: return "integrity";
    case ErrorKind::unauthorized: return "unauthorized";
    case ErrorKind::gated: return "gated";
    case ErrorKind::offline: return "offline";
    case ErrorKind::conflict: return "conflict";
    case ErrorKind::unsupported: return "unsupported";
    case ErrorKind::rate_limited: return "rate_limited";
    case ErrorKind::cancelled: return "cancelled";
    case ErrorKind::invalid_plan: return "invalid_plan";
    case ErrorKind::internal: return "internal";
  }
  return "internal";
}

std::string Error::to_string() const {
  return std::string(hubload::to_string(kind_)) + ": " + message_;
}

Error errno_error(std::string_view what, int error_number) {
  std::string message = std::string(what) + ": " + std::strerror(error_number);
  if (error_number == ENOENT || error_number == ENOTDIR) return not_found(std::move(message));
  return io_error(std::move(message));
}

namespace error_internal {

void abort_on_error(const Error& error) {
  std::fprintf(stderr, "hubload: Result::value() on an error: %s\n", error.to_string().c_str());
  std::fflush(stderr);
  std::abort();
}

void abort_on_value() {
  std::fputs("hubload: Result::error() on a value\n", stderr);
  std::fflush(stderr);
  std::abort();
}

}  // namespace error_internal

}  // namespace hubload
