#include "transfer/prefix_verifier.h"

#include <unistd.h>

#include <vector>

namespace hubload::transfer {

PrefixVerifier::PrefixVerifier(int fd, std::string data_path, std::uint64_t size,
                               std::optional<ContentHasher> hasher, std::string journal_path)
    : fd_(fd), data_path_(std::move(data_path)), size_(size), hasher_(std::move(hasher)),
      journal_path_(std::move(journal_path)) {
  thread_ = std::thread([this] { run(); });
}

PrefixVerifier::~PrefixVerifier() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void PrefixVerifier::set_prefix(std::uint64_t prefix) {
  {
    std::lock_guard lock(mu_);
    if (prefix <= prefix_) return;
    prefix_ = prefix;
  }
  cv_.notify_all();
}

void PrefixVerifier::post_journal(Journal journal) {
  {
    std::lock_guard lock(mu_);
    pending_ = std::move(journal);
  }
  cv_.notify_all();
}

Result<std::string> PrefixVerifier::finish() {
  set_prefix(size_);
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return error_.has_value() || (done_hashing_ && !pending_ && idle_); });
  if (error_) return *error_;
  return digest_;
}

void PrefixVerifier::run() {
  std::vector<std::byte> buf(hasher_ ? (4u << 20) : 0);
  std::uint64_t hashed = 0;
  std::unique_lock lock(mu_);
  while (true) {
    cv_.wait(lock, [&] {
      return stop_ || pending_.has_value() || (!done_hashing_ && (hashed < prefix_ || hashed == size_));
    });
    if (pending_) {
      Journal j = std::move(*pending_);
      pending_.reset();
      idle_ = false;
      lock.unlock();
      Status st = ::fdatasync(fd_) == 0 ? ok() : Status(errno_error(data_path_, errno));
      if (st) st = save_journal(journal_path_, j);
      lock.lock();
      idle_ = true;
      if (!st && !error_) error_ = st.error();
      cv_.notify_all();
      continue;
    }
    if (stop_) return;
    if (hashed == size_) {
      digest_ = hasher_ ? hasher_->final_hex() : "";
      done_hashing_ = true;
      cv_.notify_all();
      continue;
    }
    if (!hasher_) {
      hashed = prefix_;
      continue;
    }
    std::uint64_t target = prefix_;
    lock.unlock();
    Status st = ok();
    while (hashed < target && st && !stop_.load(std::memory_order_relaxed)) {
      std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), target - hashed));
      ssize_t got = ::pread(fd_, buf.data(), n, static_cast<off_t>(hashed));
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) {
        st = got < 0 ? Status(errno_error(data_path_, errno))
                     : Status(io_error(data_path_ + ": unexpected end of file at byte " + std::to_string(hashed)));
        break;
      }
      hasher_->update(std::span(buf.data(), static_cast<std::size_t>(got)));
      hashed += static_cast<std::uint64_t>(got);
    }
    lock.lock();
    if (!st && !error_) {
      error_ = st.error();
      cv_.notify_all();
    }
    if (!st) return;
  }
}

}  // namespace hubload::transfer
