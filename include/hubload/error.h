// hubload's one error type and the Result<T> every library call returns.
//
// Each ErrorKind is documented by what the caller should do about it, so that a
// script (through the CLI's exit code) or a program (through kind()) can decide
// without parsing messages. Messages always name what is at fault: a file, a
// tensor, a URL, a config key or a byte offset.
#pragma once
#pragma GCC visibility push(default)  // public API: exported by the shared libraries (see CMake)

#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

namespace hubload {

enum class ErrorKind {
  invalid_input,   // the input (file, config, argument, server answer) is malformed: fix the input
  not_found,       // a repo, revision, file or tensor does not exist: check the name
  io,              // the local disk failed (permissions, ENOSPC, ...): fix the machine, then retry
  network,         // connection failed, timed out or the server returned 5xx: retry later
  integrity,       // bytes do not match their hash or size: retry; report if it persists
  unauthorized,    // missing or bad token: log in (HF_TOKEN) and retry
  gated,           // repo is gated and the token has no access: request access on the Hub
  offline,         // offline mode and the cache lacks what is needed: go online or pre-fetch
  conflict,        // another process holds what we need, or state changed underneath: retry
  unsupported,     // valid but not handled by hubload (a dtype, an architecture): use another tool
  rate_limited,    // the server asked us to slow down (HTTP 429): wait, then retry
  cancelled,       // the caller asked to stop (progress callback, Ctrl-C)
  invalid_plan,    // the model cannot be split as asked (tensor-parallel validation failed)
  internal,        // a bug in hubload: please report it
};

// Stable lower-case name of a kind ("invalid_input", ...), used in --json output.
std::string_view to_string(ErrorKind kind);

class Error {
 public:
  Error(ErrorKind kind, std::string message) : kind_(kind), message_(std::move(message)) {}

  ErrorKind kind() const { return kind_; }
  const std::string& message() const { return message_; }

  // Prefixes context while the error rises: "loading rank 2: model.safetensors: ...".
  Error& with_context(std::string_view context) & {
    message_ = std::string(context) + ": " + message_;
    return *this;
  }
  Error&& with_context(std::string_view context) && {
    message_ = std::string(context) + ": " + message_;
    return std::move(*this);
  }

  // "invalid_input: model.safetensors: header length 12 exceeds file size 10".
  std::string to_string() const;

 private:
  ErrorKind kind_;
  std::string message_;
};

// Shorthand constructors, one per kind, so call sites read as prose.
inline Error invalid_input(std::string m) { return {ErrorKind::invalid_input, std::move(m)}; }
inline Error not_found(std::string m) { return {ErrorKind::not_found, std::move(m)}; }
inline Error io_error(std::string m) { return {ErrorKind::io, std::move(m)}; }
inline Error network_error(std::string m) { return {ErrorKind::network, std::move(m)}; }
inline Error integrity_error(std::string m) { return {ErrorKind::integrity, std::move(m)}; }
inline Error unsupported(std::string m) { return {ErrorKind::unsupported, std::move(m)}; }
inline Error internal_error(std::string m) { return {ErrorKind::internal, std::move(m)}; }
inline Error cancelled_error(std::string m) { return {ErrorKind::cancelled, std::move(m)}; }

// Maps an errno to not_found (ENOENT), or io otherwise, naming `what` (a path).
Error errno_error(std::string_view what, int error_number);

namespace error_internal {
// Prints "hubload: Result::value() on an error: <kind>: <message>" to stderr and
// aborts, in every build type: reading the value of a failed Result is a bug in
// the caller, and it must stop where it happened with the error that caused it.
[[noreturn]] void abort_on_error(const Error& error);
// The same for Result::error() on a success.
[[noreturn]] void abort_on_value();
}  // namespace error_internal

// A value or an Error, shaped like std::expected (absent from g++ 12 in C++20) so
// it can be swapped for it later. [[nodiscard]]: an ignored error is a bug.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  bool has_value() const { return v_.index() == 0; }
  explicit operator bool() const { return has_value(); }

  T& value() & { check_value(); return *std::get_if<0>(&v_); }
  const T& value() const& { check_value(); return *std::get_if<0>(&v_); }
  T&& value() && { check_value(); return std::move(*std::get_if<0>(&v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const& { check_error(); return *std::get_if<1>(&v_); }
  Error&& error() && { check_error(); return std::move(*std::get_if<1>(&v_)); }

  template <class U>
  T value_or(U&& fallback) const& {
    return has_value() ? value() : static_cast<T>(std::forward<U>(fallback));
  }

 private:
  void check_value() const {
    if (!has_value()) error_internal::abort_on_error(*std::get_if<1>(&v_));
  }
  void check_error() const {
    if (has_value()) error_internal::abort_on_value();
  }
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)) {}  // NOLINT

  bool has_value() const { return !error_.has_value(); }
  explicit operator bool() const { return has_value(); }
  void value() const {
    if (error_) error_internal::abort_on_error(*error_);
  }
  const Error& error() const& { check_error(); return *error_; }
  Error&& error() && { check_error(); return std::move(*error_); }

 private:
  void check_error() const {
    if (!error_) error_internal::abort_on_value();
  }
  std::optional<Error> error_;
};

using Status = Result<void>;
inline Status ok() { return {}; }

}  // namespace hubload

#define HUBLOAD_CONCAT_INNER(a, b) a##b
#define HUBLOAD_CONCAT(a, b) HUBLOAD_CONCAT_INNER(a, b)

// Propagates the error of a Result/Status expression; otherwise continues.
#define HUBLOAD_TRY(expr)                                            \
  do {                                                               \
    auto&& hubload_try_result_ = (expr);                             \
    if (!hubload_try_result_) return std::move(hubload_try_result_).error(); \
  } while (0)

// HUBLOAD_ASSIGN_OR_RETURN(auto file, MappedFile::open(path));
#define HUBLOAD_ASSIGN_OR_RETURN(lhs, expr) \
  HUBLOAD_ASSIGN_OR_RETURN_IMPL(HUBLOAD_CONCAT(hubload_aor_, __LINE__), lhs, expr)
#define HUBLOAD_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                  \
  if (!tmp) return std::move(tmp).error();            \
  lhs = std::move(tmp).value()
#pragma GCC visibility pop
