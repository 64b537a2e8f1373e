#include "hubload/file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace hubload {

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) reset(other.release());
  return *this;
}

UniqueFd::~UniqueFd() { reset(); }

void UniqueFd::reset(int fd) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

Result<ReadFile> ReadFile::open(const std::filesystem::path& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return errno_error(path.string(), errno);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return errno_error(path.string(), errno);
  if (S_ISDIR(st.st_mode)) return invalid_input(path.string() + ": is a directory, expected a file");
  return ReadFile(path, std::move(fd), static_cast<std::uint64_t>(st.st_size));
}

Status ReadFile::read_at(std::uint64_t offset, std::span<std::byte> out) const {
  if (offset > size_ || out.size() > size_ - offset) {
    return invalid_input(path_.string() + ": read of " + std::to_string(out.size()) + " bytes at offset " +
                         std::to_string(offset) + " is past the end of the file (size " +
                         std::to_string(size_) + ")");
  }
  std::size_t done = 0;
  while (done < out.size()) {
    ssize_t n = ::pread(fd_.get(), out.data() + done, out.size() - done,
                        static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error(path_.string() + " at offset " + std::to_string(offset + done), errno);
    }
    if (n == 0) {
      return io_error(path_.string() + ": file shrank while reading at offset " +
                      std::to_string(offset + done));
    }
    done += static_cast<std::size_t>(n);
  }
  return ok();
}

Result<MappedFile> MappedFile::open(const std::filesystem::path& path) {
  HUBLOAD_ASSIGN_OR_RETURN(ReadFile file, ReadFile::open(path));
  return map(path, file.fd(), file.size());
}

Result<MappedFile> MappedFile::map(const std::filesystem::path& path, int fd, std::uint64_t size) {
  if (size == 0) return MappedFile(path, nullptr, 0);
  void* p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  if (p == MAP_FAILED) return errno_error(path.string() + ": mmap", errno);
  return MappedFile(path, static_cast<const std::byte*>(p), size);
}

MappedFile::MappedFile(MappedFile&& other) noexcept
    : path_(std::move(other.path_)), data_(other.data_), size_(other.size_) {
  other.data_ = nullptr;
  other.size_ = 0;
}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
  if (this != &other) {
    unmap();
    path_ = std::move(other.path_);
    data_ = other.data_;
    size_ = other.size_;
    other.data_ = nullptr;
    other.size_ = 0;
  }
  return *this;
}

MappedFile::~MappedFile() { unmap(); }

void MappedFile::unmap() {
  if (data_ != nullptr) ::munmap(const_cast<std::byte*>(data_), size_);
  data_ = nullptr;
  size_ = 0;
}

Status sync_close_rename(UniqueFd& fd, const std::filesystem::path& from, const std::filesystem::path& to) {
  if (::fsync(fd.get()) != 0) return errno_error(from.string(), errno);
  fd.reset();
  if (::rename(from.c_str(), to.c_str()) != 0) return errno_error(to.string(), errno);
  return ok();
}

Status write_all(int fd, std::span<const std::byte> data, const std::filesystem::path& path_for_errors) {
  std::size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error(path_for_errors.string(), errno);
    }
    done += static_cast<std::size_t>(n);
  }
  return ok();
}

Result<std::string> read_text_file(const std::filesystem::path& path) {
  HUBLOAD_ASSIGN_OR_RETURN(ReadFile file, ReadFile::open(path));
  std::string text(file.size(), '\0');
  HUBLOAD_TRY(file.read_at(0, std::as_writable_bytes(std::span(text.data(), text.size()))));
  return text;
}

}  // namespace hubload
