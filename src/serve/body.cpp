#include "serve/body.h"

#include <algorithm>
#include <charconv>
#include <memory>
#include <vector>

#include "hubload/file.h"

namespace hubload::serve_internal {
namespace {

// Bytes per read + send. Larger chunks mean fewer syscalls, which cost several
// microseconds each on a VM; the server shares the CPU with local clients.
constexpr std::size_t kChunk = 256 * 1024;

bool parse_u64(std::string_view s, std::uint64_t& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return !s.empty() && ec == std::errc() && p == s.data() + s.size();
}

// The state of one response body, shared by the calls of its content provider.
struct BodyState {
  BodyState(ReadFile f, std::uint64_t first_byte, FaultPlan p, BodyCounters c)
      : file(std::move(f)), first(first_byte), plan(std::move(p)), counters(c) {}
  ReadFile file;
  std::uint64_t first;  // file offset of body byte 0
  FaultPlan plan;
  BodyCounters counters;
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  bool stalled = false;
  std::vector<char> buf;
};

bool write_chunk(BodyState& s, std::size_t pos, std::size_t remaining, httplib::DataSink& sink) {
  const FaultPlan& p = s.plan;
  std::uint64_t n = std::min<std::uint64_t>(remaining, kChunk);
  if (p.limit_rate > 0) n = std::min<std::uint64_t>(n, std::max<std::uint64_t>(1, p.limit_rate / 20));
  TotalRate* total = s.counters.total_rate;
  if (total) n = std::min<std::uint64_t>(n, std::max<std::uint64_t>(1, total->rate() / 50));
  if (p.drop_after) {
    if (pos >= *p.drop_after) return false;  // httplib closes the connection mid-body
    n = std::min<std::uint64_t>(n, *p.drop_after - pos);
  }
  if (p.stall_after && !s.stalled) {
    if (pos >= *p.stall_after) {
      s.stalled = true;
      if (!s.counters.sleeper->sleep_for(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
              std::chrono::duration<double>(p.stall_seconds)))) {
        return false;
      }
    } else {
      n = std::min<std::uint64_t>(n, *p.stall_after - pos);
    }
  }
  s.buf.resize(n);
  const std::uint64_t off = s.first + pos;
  if (!s.file.read_at(off, std::as_writable_bytes(std::span<char>(s.buf.data(), n)))) return false;
  if (p.corrupt_at && *p.corrupt_at >= off && *p.corrupt_at < off + n) s.buf[*p.corrupt_at - off] ^= 0x5a;
  if (p.limit_rate > 0) {
    // Pace to the byte count: body byte k may leave no earlier than k / rate seconds in.
    auto due = s.start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                             std::chrono::duration<double>(static_cast<double>(pos) / p.limit_rate));
    auto now = std::chrono::steady_clock::now();
    if (due > now && !s.counters.sleeper->sleep_for(due - now)) return false;
  }
  if (total) {
    auto due = total->book(n);
    auto now = std::chrono::steady_clock::now();
    if (due > now && !s.counters.sleeper->sleep_for(due - now)) return false;
  }
  // Counted before the write: a client that has read these bytes must already see
  // them in the stats (tests compare right after their request returns).
  s.counters.bytes_sent->fetch_add(n, std::memory_order_relaxed);
  return sink.write(s.buf.data(), n);
}

}  // namespace

RangeRequest parse_range(std::string_view header, std::uint64_t size) {
  RangeRequest r;
  if (!header.starts_with("bytes=")) return r;
  std::string_view spec = header.substr(6);
  if (spec.find(',') != std::string_view::npos) return r;
  std::size_t dash = spec.find('-');
  if (dash == std::string_view::npos) return r;
  std::string_view a = spec.substr(0, dash), b = spec.substr(dash + 1);
  std::uint64_t first = 0, last = 0;
  if (a.empty()) {  // suffix: the last n bytes
    if (!parse_u64(b, last) || last == 0) return {RangeRequest::Kind::unsatisfiable, 0, 0};
    if (size == 0) return {RangeRequest::Kind::unsatisfiable, 0, 0};
    return {RangeRequest::Kind::satisfiable, size - std::min(last, size), size - 1};
  }
  if (!parse_u64(a, first)) return r;
  if (b.empty()) {
    last = size == 0 ? 0 : size - 1;
  } else if (!parse_u64(b, last) || last < first) {
    return r;
  }
  if (first >= size) return {RangeRequest::Kind::unsatisfiable, 0, 0};
  return {RangeRequest::Kind::satisfiable, first, std::min(last, size - 1)};
}

std::chrono::steady_clock::time_point TotalRate::book(std::uint64_t bytes) {
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mu_);
  const auto start = std::max(now, next_);
  next_ = start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                      std::chrono::duration<double>(static_cast<double>(bytes) / static_cast<double>(rate_)));
  return start;
}

bool Sleeper::sleep_for(std::chrono::steady_clock::duration d) {
  std::unique_lock lock(mu_);
  return !cv_.wait_for(lock, d, [this] { return stopped_; });
}

void Sleeper::stop() {
  std::lock_guard lock(mu_);
  stopped_ = true;
  cv_.notify_all();
}

void serve_file_body(const httplib::Request& req, httplib::Response& res, const std::filesystem::path& path,
                     std::uint64_t size, const FaultPlan& plan, BodyCounters counters) {
  res.set_header("Accept-Ranges", "bytes");
  RangeRequest range;
  if (!plan.ignore_range && req.has_header("Range")) range = parse_range(req.get_header_value("Range"), size);
  if (range.kind == RangeRequest::Kind::unsatisfiable) {
    res.status = 416;
    res.set_header("Content-Range", "bytes */" + std::to_string(size));
    return;
  }
  std::uint64_t first = 0, length = size;
  res.status = 200;
  if (range.kind == RangeRequest::Kind::satisfiable) {
    res.status = 206;
    first = range.first;
    length = range.last - range.first + 1;
    res.set_header("Content-Range", "bytes " + std::to_string(range.first) + "-" + std::to_string(range.last) + "/" +
                                        std::to_string(size));
  }
  if (length == 0) {
    res.set_content("", "application/octet-stream");
    return;
  }
  auto file = ReadFile::open(path.string());
  if (!file) {
    res.status = 500;
    res.set_content("{\"error\": \"cannot open the file\"}", "application/json");
    return;
  }
  auto state = std::make_shared<BodyState>(std::move(*file), first, plan, counters);
  res.set_content_provider(static_cast<std::size_t>(length), "application/octet-stream",
                           [state](std::size_t offset, std::size_t remaining, httplib::DataSink& sink) {
                             return write_chunk(*state, offset, remaining, sink);
                           });
}

}  // namespace hubload::serve_internal
