#include "transfer/journal.h"

#include <fcntl.h>
#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <limits>
#include <span>

#include "hubload/file.h"

namespace hubload::transfer_internal {

namespace {
constexpr std::string_view kMagic = "hubload-partial 1";

bool parse_u64(std::string_view s, std::uint64_t& out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  while (true) {
    auto i = s.find(sep);
    out.push_back(s.substr(0, i));
    if (i == std::string_view::npos) break;
    s.remove_prefix(i + 1);
  }
  return out;
}
}  // namespace

std::string encode_journal(const Journal& j) {
  std::string out(kMagic);
  out += "\nsize " + std::to_string(j.size);
  out += "\nhash " + (j.hash.empty() ? std::string("-") : j.hash);
  out += "\nowner " + (j.host.empty() ? std::string("-") : j.host) + " " + std::to_string(j.pid);
  if (!j.boot_id.empty()) out += "\nboot " + j.boot_id;
  for (const auto& r : j.ranges) out += "\nrange " + std::to_string(r.begin) + " " + std::to_string(r.end);
  for (const auto& r : j.written) out += "\nwritten " + std::to_string(r.begin) + " " + std::to_string(r.end);
  out += "\nend\n";
  return out;
}

Result<Journal> decode_journal(std::string_view text, std::string_view source) {
  auto bad = [&](std::string_view why) {
    return invalid_input(std::string(source) + ": bad resume journal: " + std::string(why));
  };
  if (text.size() > (1u << 20)) return bad("larger than 1 MiB");
  auto lines = split(text, '\n');
  if (lines.size() < 5 || lines[0] != kMagic) return bad("missing header");
  if (lines.back() != "" || lines[lines.size() - 2] != "end") return bad("truncated (no end line)");
  Journal j;
  auto field = [&](std::string_view line, std::string_view key) -> std::optional<std::string_view> {
    if (line.substr(0, key.size() + 1) != std::string(key) + " ") return std::nullopt;
    return line.substr(key.size() + 1);
  };
  auto size = field(lines[1], "size");
  if (!size || !parse_u64(*size, j.size)) return bad("bad size line");
  auto hash = field(lines[2], "hash");
  if (!hash) return bad("bad hash line");
  j.hash = *hash == "-" ? "" : std::string(*hash);
  auto owner = field(lines[3], "owner");
  if (!owner) return bad("bad owner line");
  auto parts = split(*owner, ' ');
  std::uint64_t pid = 0;
  // A pid is a positive pid_t: a larger number would wrap to a negative one, which
  // kill(2) reads as a process group (found by fuzz/journal_fuzz).
  if (parts.size() != 2 || !parse_u64(parts[1], pid) ||
      pid > static_cast<std::uint64_t>(std::numeric_limits<pid_t>::max()))
    return bad("bad owner line");
  j.host = parts[0] == "-" ? "" : std::string(parts[0]);
  j.pid = static_cast<long>(pid);
  std::size_t i = 4;
  if (auto boot = field(lines[i], "boot")) {  // absent in journals before the written claims
    if (boot->empty() || boot->find(' ') != std::string_view::npos) return bad("bad boot line");
    j.boot_id = std::string(*boot);
    ++i;
  }
  // `range` lines, then `written` lines; each list sorted and disjoint.
  for (std::string_view key : {"range", "written"}) {
    std::vector<ByteRange>& out = key == "range" ? j.ranges : j.written;
    std::uint64_t last_end = 0;
    for (; i + 2 < lines.size(); ++i) {
      auto r = field(lines[i], key);
      if (!r) break;
      auto be = split(*r, ' ');
      ByteRange range;
      if (be.size() != 2 || !parse_u64(be[0], range.begin) || !parse_u64(be[1], range.end)) {
        return bad("bad range on line " + std::to_string(i + 1));
      }
      if (range.begin >= range.end || range.end > j.size || (!out.empty() && range.begin < last_end)) {
        return bad("range on line " + std::to_string(i + 1) + " is empty, out of order or past the size");
      }
      last_end = range.end;
      out.push_back(range);
    }
  }
  if (i + 2 < lines.size()) return bad("unexpected line " + std::to_string(i + 1));
  return j;
}

Status save_journal(const std::string& path, const Journal& j) {
  std::string tmp = path + ".tmp";
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666));
  if (!fd.valid()) return errno_error(tmp, errno);
  std::string text = encode_journal(j);
  HUBLOAD_TRY(write_all(fd.get(), std::as_bytes(std::span(text.data(), text.size())), tmp));
  if (!j.ranges.empty() && ::fsync(fd.get()) != 0) return errno_error(tmp, errno);
  fd.reset();
  if (std::rename(tmp.c_str(), path.c_str()) != 0) return errno_error(path, errno);
  return ok();
}

Result<Journal> load_journal(const std::string& path) {
  HUBLOAD_ASSIGN_OR_RETURN(std::string text, read_text_file(path));
  return decode_journal(text, path);
}

}  // namespace hubload::transfer_internal
