#include "transfer/partial_file.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <random>

#include "util/digest.h"

namespace hubload::transfer_internal {

namespace fs = std::filesystem;

namespace {
constexpr std::string_view kDataSuffix = ".incomplete";
constexpr std::string_view kJournalSuffix = ".journal.incomplete";

std::string random_tag() {
  std::random_device rd;
  std::uniform_int_distribution<unsigned> dist;
  char buf[9];
  std::snprintf(buf, sizeof buf, "%08x", dist(rd));
  return buf;
}

bool is_tag(std::string_view s) {
  if (s.size() != 8) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

bool owner_dead(const Journal& j, const fs::path& journal, const PartialOptions& opt) {
  if (j.host == local_host_name()) {
    if (!opt.check_owner_alive) return true;
    if (j.pid == static_cast<long>(::getpid())) return opt.exclusive;
    return ::kill(static_cast<pid_t>(j.pid), 0) != 0 && errno == ESRCH;
  }
  std::error_code ec;
  auto age = fs::file_time_type::clock::now() - fs::last_write_time(journal, ec);
  return !ec && age > opt.foreign_age;
}

bool older_than(const fs::path& p, std::chrono::seconds age) {
  std::error_code ec;
  auto t = fs::last_write_time(p, ec);
  return !ec && fs::file_time_type::clock::now() - t > age;
}

void remove_quietly(const fs::path& p) {
  std::error_code ec;
  fs::remove(p, ec);
}
}  // namespace

std::string local_host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "localhost";
  std::string s(buf);
  for (char& c : s) {
    if (c == ' ' || c == '\n') c = '_';
  }
  return s;
}

std::string current_boot_id() {
  // A /proc file reports size 0, so it is read with plain read(), not by size.
  UniqueFd fd(::open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return "";
  char buf[64] = {};
  ssize_t n = ::read(fd.get(), buf, sizeof buf - 1);
  std::string id(buf, n > 0 ? static_cast<std::size_t>(n) : 0);
  while (!id.empty() && (id.back() == '\n' || id.back() == ' ')) id.pop_back();
  return id;
}

Journal PartialFile::journal(const RangeSet& synced, const RangeSet& written) const {
  RangeSet all = written;
  all.add(synced);
  return Journal{size_, hash_, local_host_name(), static_cast<long>(::getpid()), boot_id_, synced.ranges(),
                 all.ranges()};
}

// The same for every process, so a long name's partials are still found and
// adopted.
std::string partial_stem(const std::string& name) {
  constexpr std::size_t kNameMax = 255;
  // ".<tag>.journal.incomplete", and ".tmp" while the journal is rewritten.
  constexpr std::size_t kLongestSuffix = 1 + 8 + kJournalSuffix.size() + 4;
  if (name.size() + kLongestSuffix <= kNameMax) return name;
  const std::string hash = util_internal::sha256_hex(name).substr(0, 16);
  return name.substr(0, kNameMax - kLongestSuffix - 1 - hash.size()) + "~" + hash;
}

std::set<std::string> partial_stems_in(const fs::path& dir) {
  std::set<std::string> stems;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string file_name = entry.path().filename().string();
    std::string_view name = file_name;
    if (!name.ends_with(kDataSuffix)) continue;
    name.remove_suffix(name.ends_with(kJournalSuffix) ? kJournalSuffix.size() : kDataSuffix.size());
    if (name.size() < 10 || name[name.size() - 9] != '.' || !is_tag(name.substr(name.size() - 8))) continue;
    stems.emplace(name.substr(0, name.size() - 9));
  }
  return stems;
}

Result<PartialFile> PartialFile::open(const std::string& dest, std::uint64_t size, const std::string& hash,
                                      const PartialOptions& options) {
  fs::path dest_path(dest);
  fs::path dir = dest_path.parent_path().empty() ? fs::path(".") : dest_path.parent_path();
  std::string base = partial_stem(dest_path.filename().string());
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return io_error(dir.string() + ": cannot create folder: " + ec.message());

  PartialFile p;
  p.size_ = size;
  p.hash_ = hash;
  p.boot_id_ = options.boot_id.empty() ? current_boot_id() : options.boot_id;
  std::string tag = random_tag();
  p.data_path_ = (dir / (base + "." + tag + std::string(kDataSuffix))).string();
  p.journal_path_ = (dir / (base + "." + tag + std::string(kJournalSuffix))).string();

  bool adopted = false;
  for (const auto& entry : options.scan ? fs::directory_iterator(dir, ec) : fs::directory_iterator()) {
    std::string name = entry.path().filename().string();
    if (name.size() <= base.size() + 1 + 8 || name.compare(0, base.size() + 1, base + ".") != 0) continue;
    std::string_view rest = std::string_view(name).substr(base.size() + 1);
    std::string other_tag(rest.substr(0, 8));
    if (!is_tag(other_tag)) continue;
    rest.remove_prefix(8);
    fs::path other_data = dir / (base + "." + other_tag + std::string(kDataSuffix));
    if (rest == kDataSuffix) {
      // Data without a journal: an owner that died before its first journal, or
      // one still starting. Only age tells them apart.
      if (!fs::exists(dir / (base + "." + other_tag + std::string(kJournalSuffix))) &&
          older_than(entry.path(), options.foreign_age)) {
        remove_quietly(entry.path());
      }
      continue;
    }
    if (rest != kJournalSuffix) continue;
    auto j = load_journal(entry.path().string());
    if (j && !owner_dead(*j, entry.path(), options)) continue;  // someone is working on it
    if (!j && !older_than(entry.path(), options.foreign_age)) continue;
    bool fits = j && j->size == size && j->hash == hash && !adopted;
    if (fits && std::rename(entry.path().c_str(), p.journal_path_.c_str()) == 0) {
      struct stat st {};
      bool data_ok = std::rename(other_data.c_str(), p.data_path_.c_str()) == 0 &&
                     ::stat(p.data_path_.c_str(), &st) == 0;
      RangeSet keep;
      keep.add(j->ranges);
      if (!j->boot_id.empty() && j->boot_id == p.boot_id_) keep.add(j->written);  // no reboot since
      const auto ranges = keep.ranges();
      if (data_ok && (ranges.empty() || static_cast<std::uint64_t>(st.st_size) >= ranges.back().end)) {
        p.adopted_ = std::move(keep);
        p.adopted_synced_.add(j->ranges);
        adopted = true;
        continue;
      }
      remove_quietly(p.journal_path_);
      remove_quietly(p.data_path_);
      continue;
    }
    // A dead owner's partial for other content (or a corrupt journal): clean up.
    remove_quietly(entry.path());
    remove_quietly(other_data);
  }

  if (options.unnamed && !adopted && ::access("/proc/self/fd", X_OK) == 0) {
    // publish() links the inode through /proc/self/fd (linkat with AT_EMPTY_PATH
    // needs a capability); where either is missing, the named way below.
    p.fd_.reset(::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0666));
    if (p.fd_.valid()) {
      p.unnamed_ = true;
      p.journal_path_.clear();
      return p;
    }
  }
  // A fresh partial gets its journal (owner record) before its first byte, so
  // no partial ever exists whose owner a later run cannot identify; an adopted
  // one is re-signed at once with this process as owner, or a third process
  // could take the dead owner's name on it for ours until the next journal save.
  HUBLOAD_TRY(save_journal(p.journal_path_, p.journal(p.adopted_synced_, p.adopted_)));
  p.fd_.reset(::open(p.data_path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666));
  if (!p.fd_.valid()) return errno_error(p.data_path_, errno);
  return p;
}

Status PartialFile::reset() {
  if (!unnamed_) HUBLOAD_TRY(save_journal(journal_path_, journal(RangeSet{})));
  if (::ftruncate(fd_.get(), 0) != 0) return errno_error(data_path_, errno);
  adopted_.clear();
  adopted_synced_.clear();
  return ok();
}

Status PartialFile::publish(const std::string& dest) {
  if (unnamed_) {
    const std::string self = "/proc/self/fd/" + std::to_string(fd_.get());
    if (::linkat(AT_FDCWD, self.c_str(), AT_FDCWD, dest.c_str(), AT_SYMLINK_FOLLOW) != 0) {
      if (errno != EEXIST) return errno_error(dest, errno);
      // A damaged copy is in the way: replace it atomically, as rename() does for a named partial.
      if (::linkat(AT_FDCWD, self.c_str(), AT_FDCWD, data_path_.c_str(), AT_SYMLINK_FOLLOW) != 0) {
        return errno_error(data_path_, errno);
      }
      if (std::rename(data_path_.c_str(), dest.c_str()) != 0) {
        const int error = errno;
        remove_quietly(data_path_);
        return errno_error(dest, error);
      }
    }
    fd_.reset();
    return ok();
  }
  if (std::rename(data_path_.c_str(), dest.c_str()) != 0) return errno_error(dest, errno);
  remove_quietly(journal_path_);
  fd_.reset();
  return ok();
}

void PartialFile::discard() {
  fd_.reset();  // an unnamed partial's inode goes with its last descriptor
  if (unnamed_) return;
  remove_quietly(data_path_);
  remove_quietly(journal_path_);
}

}  // namespace hubload::transfer_internal
