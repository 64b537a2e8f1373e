// The one wrapper around OpenSSL's EVP digests: sha256 (LFS blob names, tensor
// checksums) and sha1 (git object ids, hub-protocol.md §4). Every component
// hashes through this; none includes <openssl/evp.h> itself.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "hubload/error.h"
#include "hubload/file.h"

struct evp_md_ctx_st;  // OpenSSL's EVP_MD_CTX, kept out of this header

namespace hubload::util_internal {

enum class DigestAlgo { sha1, sha256 };

// Incremental hasher owning its EVP_MD_CTX; move-only.
class Digest {
 public:
  // internal_error when OpenSSL cannot allocate or initialise the context.
  static Result<Digest> start(DigestAlgo algo);
  // sha1 already fed "blob <size>\0": the git object id of `size` bytes of content.
  static Result<Digest> start_git_blob(std::uint64_t size);

  void update(std::span<const std::byte> bytes);
  void update(std::string_view bytes) { update(std::as_bytes(std::span(bytes.data(), bytes.size()))); }
  // Feeds the whole of `file` through a bounded buffer (never loads it whole).
  Status update_from(const ReadFile& file);
  // Lower-case hex of the digest; the hasher is spent afterwards.
  std::string finish_hex();

 private:
  struct CtxFree {
    void operator()(evp_md_ctx_st* ctx) const;
  };
  using Ctx = std::unique_ptr<evp_md_ctx_st, CtxFree>;
  explicit Digest(Ctx ctx) : ctx_(std::move(ctx)) {}
  Ctx ctx_;
};

inline std::span<const std::byte> bytes_of(std::string_view s) { return std::as_bytes(std::span(s.data(), s.size())); }

// One-shot hex digests. Empty only if OpenSSL cannot set up a context (which
// callers that must not fail treat as a digest that matches nothing).
std::string sha1_hex(std::span<const std::byte> bytes);
std::string sha256_hex(std::span<const std::byte> bytes);
std::string git_blob_sha1_hex(std::span<const std::byte> content);
inline std::string sha1_hex(std::string_view text) { return sha1_hex(bytes_of(text)); }
inline std::string sha256_hex(std::string_view text) { return sha256_hex(bytes_of(text)); }
inline std::string git_blob_sha1_hex(std::string_view content) { return git_blob_sha1_hex(bytes_of(content)); }

// The two digests a blob is named by (hub-protocol.md §4): the sha256 of an LFS
// file's content, the git blob sha1 of a regular file.
enum class BlobDigest { git_sha1, sha256 };
// Streams the file at `path` through that digest (never loads it whole); an
// error names the file.
Result<std::string> file_digest_hex(const std::filesystem::path& path, BlobDigest kind);

// The one set of hex shape checks: commits, blob names and hash etags are all
// lower-case hex of a fixed length.
bool is_lower_hex(std::string_view s);
inline bool is_git_sha1_hex(std::string_view s) { return s.size() == 40 && is_lower_hex(s); }  // commits, git blobs
inline bool is_sha256_hex(std::string_view s) { return s.size() == 64 && is_lower_hex(s); }    // LFS blobs
// An etag that names the content's digest (either kind), not an opaque server tag.
inline bool is_hash_etag(std::string_view s) { return is_git_sha1_hex(s) || is_sha256_hex(s); }

}  // namespace hubload::util_internal
