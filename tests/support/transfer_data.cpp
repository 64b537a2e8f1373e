#include "support/transfer_data.h"

#include <random>
#include <span>
#include <utility>

#include "transfer/content_hasher.h"

namespace hubload::testing {

std::string random_bytes(std::size_t n, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

namespace {
std::string hash_hex(std::size_t etag_length, std::string_view s) {
  auto h = transfer_internal::ContentHasher::for_etag_length(etag_length, s.size());
  h->update(std::as_bytes(std::span(s.data(), s.size())));
  return h->final_hex();
}
}  // namespace

std::string sha256_hex(std::string_view content) { return hash_hex(64, content); }
std::string git_sha1_hex(std::string_view content) { return hash_hex(40, content); }

TransferOptions fast_transfer_options() {
  TransferOptions o;
  o.connections = 4;
  o.chunk_size = 256 << 10;
  o.min_split = 64 << 10;
  o.backoff_base = std::chrono::milliseconds(5);
  o.backoff_max = std::chrono::milliseconds(50);
  o.journal_interval = std::chrono::milliseconds(10);
  return o;
}

TransferFile transfer_file(std::string url, std::string dest, std::string_view content) {
  TransferFile f;
  f.url = std::move(url);
  f.dest = std::move(dest);
  f.size = content.size();
  f.expected_hash = sha256_hex(content);
  return f;
}

}  // namespace hubload::testing
