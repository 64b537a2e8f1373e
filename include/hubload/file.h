// The thin file layer: RAII owners for descriptors and mappings, and the few
// POSIX calls hubload needs, each returning Result with the path in the message.
// Every component does its disk I/O through here so errors read the same way
// and tests can reach the failure paths.
#pragma once
#pragma GCC visibility push(default)  // public API: exported by the shared libraries (see CMake)

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>

#include "hubload/error.h"

namespace hubload {

// Owns one file descriptor; closes it on destruction. Move-only.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd();

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() { int fd = fd_; fd_ = -1; return fd; }
  void reset(int fd = -1);

 private:
  int fd_ = -1;
};

// A file opened read-only (O_CLOEXEC), with its size taken at open time.
class ReadFile {
 public:
  static Result<ReadFile> open(const std::filesystem::path& path);

  const std::filesystem::path& path() const { return path_; }
  std::uint64_t size() const { return size_; }
  int fd() const { return fd_.get(); }

  // Reads exactly out.size() bytes at `offset` (pread, retried on EINTR and short
  // reads). A range past the end is an invalid_input error naming the path and range.
  Status read_at(std::uint64_t offset, std::span<std::byte> out) const;

 private:
  ReadFile(std::filesystem::path path, UniqueFd fd, std::uint64_t size)
      : path_(std::move(path)), fd_(std::move(fd)), size_(size) {}
  std::filesystem::path path_;
  UniqueFd fd_;
  std::uint64_t size_ = 0;
};

// A read-only, private memory mapping of a whole file. Views into it must not
// outlive it. An empty file maps to an empty span (mmap of 0 bytes is invalid).
class MappedFile {
 public:
  static Result<MappedFile> open(const std::filesystem::path& path);
  // The first `size` bytes of the file open on `fd` (which may be closed after);
  // `path` names it in errors.
  static Result<MappedFile> map(const std::filesystem::path& path, int fd, std::uint64_t size);

  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  const std::filesystem::path& path() const { return path_; }
  std::span<const std::byte> bytes() const { return {data_, size_}; }
  std::uint64_t size() const { return size_; }

 private:
  MappedFile(std::filesystem::path path, const std::byte* data, std::uint64_t size)
      : path_(std::move(path)), data_(data), size_(size) {}
  void unmap();
  std::filesystem::path path_;
  const std::byte* data_ = nullptr;
  std::uint64_t size_ = 0;
};

// Writes all of `data` to `fd`, retrying on EINTR and short writes.
Status write_all(int fd, std::span<const std::byte> data, const std::filesystem::path& path_for_errors);

// Makes the file written through `fd` (named `from`) durable, closes `fd`, then
// renames it to `to`: a file is complete on disk before the name that says so
// appears. Errors name `from` (the sync) or `to` (the rename).
Status sync_close_rename(UniqueFd& fd, const std::filesystem::path& from, const std::filesystem::path& to);

// Reads a whole (small) file into a string: config.json, index files, refs.
Result<std::string> read_text_file(const std::filesystem::path& path);

}  // namespace hubload
#pragma GCC visibility pop
