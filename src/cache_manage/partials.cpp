#include "cache_manage/partials.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <map>

#include <fmt/format.h>

#include "transfer/journal.h"
#include "transfer/partial_file.h"

namespace hubload::cache_manage_internal {
namespace fs = std::filesystem;
namespace {

constexpr std::string_view kData = ".incomplete";
constexpr std::string_view kJournal = ".journal.incomplete";

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() > suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::uint64_t size_of(const fs::path& p) {
  std::error_code ec;
  auto n = fs::file_size(p, ec);
  return ec ? 0 : n;
}

// Seconds since `p` was last written; nullopt when it cannot be stat'ed.
std::optional<std::int64_t> age_seconds(const fs::path& p) {
  std::error_code ec;
  auto t = fs::last_write_time(p, ec);
  if (ec) return std::nullopt;
  return std::chrono::duration_cast<std::chrono::seconds>(fs::file_time_type::clock::now() - t).count();
}

bool pid_alive(long pid) {
  if (pid <= 0) return false;
  return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM;
}

void judge(CachedPartial& p, std::chrono::seconds window) {
  const fs::path& newest = p.journal ? *p.journal : p.data;
  const auto age = age_seconds(newest);
  const bool old = age && *age > window.count();
  if (p.journal) {
    auto j = transfer::load_journal(p.journal->string());
    if (j && j->host == transfer::local_host_name()) {
      const std::string boot = transfer::current_boot_id();
      if (!j->boot_id.empty() && !boot.empty() && j->boot_id != boot) {
        p.stale = true;
        p.reason = fmt::format("owner pid {} ran before the last reboot", j->pid);
      } else if (pid_alive(j->pid)) {
        p.reason = fmt::format("owner pid {} is alive", j->pid);
      } else {
        p.stale = true;
        p.reason = fmt::format("owner pid {} is gone", j->pid);
      }
      return;
    }
    p.stale = old;
    p.reason = j ? fmt::format("owner pid {} on host {}, journal untouched for {} s", j->pid, j->host, age.value_or(0))
                 : fmt::format("unreadable journal, untouched for {} s", age.value_or(0));
    return;
  }
  p.stale = old;
  p.reason = fmt::format("no owner record, untouched for {} s", age.value_or(0));
}

}  // namespace

bool is_partial_name(std::string_view name) { return ends_with(name, kData); }

std::vector<CachedPartial> classify_partials(const fs::path& blobs_dir, const std::vector<std::string>& names,
                                             std::chrono::seconds window) {
  std::map<std::string, CachedPartial> by_writer;  // "<etag>[.<tag>]" -> its files
  for (const std::string& name : names) {
    const bool journal = ends_with(name, kJournal);
    if (!journal && !ends_with(name, kData)) continue;
    std::string writer = name.substr(0, name.size() - (journal ? kJournal.size() : kData.size()));
    CachedPartial& p = by_writer[writer];
    p.etag = writer.substr(0, writer.find('.'));
    if (journal) {
      p.journal = blobs_dir / name;
      if (p.data.empty()) p.data = blobs_dir / (writer + std::string(kData));
    } else {
      p.data = blobs_dir / name;
    }
    p.size += size_of(blobs_dir / name);
  }
  std::vector<CachedPartial> out;
  for (auto& [writer, p] : by_writer) {
    judge(p, window);
    out.push_back(std::move(p));
  }
  return out;
}

}  // namespace hubload::cache_manage_internal
