#include "transfer/prefix_verifier.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>

#include <utility>
#include <vector>

namespace hubload::transfer_internal {

PrefixVerifier::PrefixVerifier(int fd, std::string data_path, std::uint64_t size,
                               std::optional<ContentHasher> hasher, std::string journal_path, RangeSet synced)
    : fd_(fd), data_path_(std::move(data_path)), size_(size), hasher_(std::move(hasher)),
      journal_path_(std::move(journal_path)), synced_(std::move(synced)), claimed_(synced_.covered()) {
  if (!journal_path_.empty()) thread_ = std::thread([this] { run(); });
}

PrefixVerifier::~PrefixVerifier() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void PrefixVerifier::set_prefix(std::uint64_t prefix) {
  {
    std::lock_guard lock(mu_);
    if (prefix <= prefix_) return;
    prefix_ = prefix;
  }
  cv_.notify_all();
}

bool PrefixVerifier::hash_written(std::uint64_t offset, std::span<const char> data) {
  std::lock_guard lock(mu_);
  if (!hasher_ || reading_ || done_hashing_ || offset != hashed_ || data.empty()) return false;
  if (offset + data.size() > size_) return false;
  hasher_->update(std::as_bytes(data));
  hashed_ += data.size();
  return true;
}

void PrefixVerifier::post_journal(Journal journal, bool final) {
  if (!thread_.joinable()) return;  // no journal to keep
  {
    std::lock_guard lock(mu_);
    if (pending_) {  // not saved yet: keep what it asked to sync
      RangeSet all;
      all.add(pending_->ranges);
      all.add(journal.ranges);
      journal.ranges = all.ranges();
    }
    pending_ = std::move(journal);
    pending_final_ = pending_final_ || final;
  }
  cv_.notify_all();
}

void PrefixVerifier::wait_idle() {
  if (!thread_.joinable()) return;
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return error_.has_value() || (!pending_ && idle_); });
}

Result<std::string> PrefixVerifier::finish() {
  if (!thread_.joinable()) {
    // Whatever the receive buffers did not hash (bytes written out of order) is
    // read back here: at most one request's worth.
    std::lock_guard lock(mu_);
    if (!done_hashing_ && hasher_ && hashed_ < size_) {
      std::vector<std::byte> buf;
      HUBLOAD_TRY(hash_from_file(hashed_, size_, buf));
    }
    hashed_ = size_;
    if (!done_hashing_) digest_ = hasher_ ? hasher_->final_hex() : "";
    done_hashing_ = true;
    return digest_;
  }
  set_prefix(size_);
  std::unique_lock lock(mu_);
  if (!done_hashing_ && !reading_ && hashed_ == size_) {
    // Hashed whole from the receive buffers (hash_written): no need to wait
    // for the thread to wake up and say so.
    digest_ = hasher_ ? hasher_->final_hex() : "";
    done_hashing_ = true;
  }
  // The file is whole: it is published or restarted next, and either drops the
  // journal, so bringing it up to date would only cost a wait for the disk.
  pending_.reset();
  cv_.wait(lock, [&] { return error_.has_value() || (done_hashing_ && !pending_ && idle_); });
  if (error_) return *error_;
  return digest_;
}

Status PrefixVerifier::sync_range(ByteRange r, unsigned flags) {
  if (!range_sync_) return ok();
  if (::sync_file_range(fd_, static_cast<off_t>(r.begin), static_cast<off_t>(r.size()), flags) == 0) return ok();
  if (errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP || errno == ESPIPE) {
    range_sync_ = false;  // not supported here: save() falls back to fdatasync
    return ok();
  }
  return errno_error(data_path_, errno);
}

Status PrefixVerifier::save(Journal journal, bool final) {
  constexpr unsigned kWait = SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER;
  for (const ByteRange& r : started_.ranges()) HUBLOAD_TRY(sync_range(r, kWait));
  synced_.add(started_);
  started_.clear();
  RangeSet fresh;
  fresh.add(journal.ranges);
  fresh.remove(synced_);
  if (!final) {
    for (const ByteRange& r : fresh.ranges()) HUBLOAD_TRY(sync_range(r, SYNC_FILE_RANGE_WRITE));
  }
  if (final || !range_sync_) {
    // fdatasync also flushes the allocation metadata; with no writer left (or
    // no range sync) there is no frontier to spare.
    if (::fdatasync(fd_) != 0) return errno_error(data_path_, errno);
    synced_.add(fresh);
  } else {
    started_ = std::move(fresh);
  }
  RangeSet written = synced_;
  written.add(journal.written);
  if (synced_.covered() == claimed_ && written.covered() == written_claimed_) return ok();
  journal.ranges = synced_.ranges();
  journal.written = written.ranges();
  HUBLOAD_TRY(save_journal(journal_path_, journal));
  claimed_ = synced_.covered();
  written_claimed_ = written.covered();
  return ok();
}

Status PrefixVerifier::hash_from_file(std::uint64_t from, std::uint64_t to, std::vector<std::byte>& buf) {
  static const std::uint64_t page = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
  constexpr std::uint64_t kWindow = 8u << 20;
  while (from < to && !stop_.load(std::memory_order_relaxed)) {
    const std::uint64_t base = from / page * page;
    const std::uint64_t end = std::min(to, base + kWindow);
    const auto length = static_cast<std::size_t>(end - base);
    // Every byte below `to` is written, so the mapping is backed by the file.
    void* map = ::mmap(nullptr, length, PROT_READ, MAP_SHARED | MAP_POPULATE, fd_, static_cast<off_t>(base));
    if (map != MAP_FAILED) {
      hasher_->update(std::span(static_cast<const std::byte*>(map) + (from - base), static_cast<std::size_t>(end - from)));
      ::munmap(map, length);
      from = end;
      continue;
    }
    if (buf.empty()) buf.resize(4u << 20);
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), to - from));
    ssize_t got = ::pread(fd_, buf.data(), n, static_cast<off_t>(from));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return errno_error(data_path_, errno);
    if (got == 0) return io_error(data_path_ + ": unexpected end of file at byte " + std::to_string(from));
    hasher_->update(std::span(buf.data(), static_cast<std::size_t>(got)));
    from += static_cast<std::uint64_t>(got);
  }
  return ok();
}

void PrefixVerifier::run() {
  std::vector<std::byte> buf;  // only where a mapping is refused
  std::unique_lock lock(mu_);
  while (true) {
    cv_.wait(lock, [&] {
      return stop_ || pending_.has_value() || (!done_hashing_ && (hashed_ < prefix_ || hashed_ == size_));
    });
    if (pending_) {
      Journal j = std::move(*pending_);
      bool final = std::exchange(pending_final_, false);
      pending_.reset();
      idle_ = false;
      lock.unlock();
      Status st = save(std::move(j), final);
      lock.lock();
      idle_ = true;
      if (!st && !error_) error_ = st.error();
      cv_.notify_all();
      continue;
    }
    if (stop_) return;
    if (hashed_ == size_) {
      digest_ = hasher_ ? hasher_->final_hex() : "";
      done_hashing_ = true;
      cv_.notify_all();
      continue;
    }
    if (!hasher_) {
      hashed_ = prefix_;
      continue;
    }
    const std::uint64_t from = hashed_;
    const std::uint64_t target = prefix_;
    reading_ = true;
    lock.unlock();
    Status st = hash_from_file(from, target, buf);
    lock.lock();
    reading_ = false;
    if (st && !stop_) hashed_ = target;
    if (!st && !error_) {
      error_ = st.error();
      cv_.notify_all();
    }
    if (!st) return;
  }
}

}  // namespace hubload::transfer_internal
