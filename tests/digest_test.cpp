// The private OpenSSL wrapper every component hashes through (util/digest.h),
// checked against published vectors and `git hash-object`.
#include <gtest/gtest.h>

#include <string>
#include <utility>

#include "support/test_support.h"
#include "util/digest.h"

namespace hubload::util_internal {
namespace {

constexpr const char* kSha256Empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
constexpr const char* kSha256Abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
constexpr const char* kSha1Abc = "a9993e364706816aba3e25717850c26c9cd0d89d";
// `printf 'hello\n' | git hash-object --stdin`
constexpr const char* kGitBlobHello = "ce013625030ba8dba906f756967f9e9ca394464a";

TEST(Digest, OneShotKnownVectors) {
  EXPECT_EQ(sha256_hex(std::span<const std::byte>()), kSha256Empty);
  EXPECT_EQ(sha256_hex(bytes_of("abc")), kSha256Abc);
  EXPECT_EQ(sha1_hex(bytes_of("abc")), kSha1Abc);
  EXPECT_EQ(sha1_hex(std::span<const std::byte>()), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
}

TEST(Digest, TextOverloadsHashTheSameBytes) {
  EXPECT_EQ(sha256_hex(std::string_view()), kSha256Empty);
  EXPECT_EQ(sha256_hex("abc"), kSha256Abc);
  EXPECT_EQ(sha1_hex(std::string("abc")), kSha1Abc);
  EXPECT_EQ(git_blob_sha1_hex("hello\n"), kGitBlobHello);
  // Embedded NULs are content, not terminators.
  const std::string_view nul("a\0b", 3);
  EXPECT_EQ(sha256_hex(nul), sha256_hex(bytes_of(nul)));
  EXPECT_NE(sha256_hex(nul), sha256_hex("a"));
}

TEST(Digest, GitBlobSha1IsSha1OfHeaderAndContent) {
  EXPECT_EQ(git_blob_sha1_hex(bytes_of("hello\n")), kGitBlobHello);
  EXPECT_EQ(sha1_hex(bytes_of(std::string_view("blob 6\0hello\n", 13))), kGitBlobHello);
  auto d = Digest::start_git_blob(6);
  ASSERT_TRUE(d);
  d->update("hel");
  d->update("lo\n");
  EXPECT_EQ(d->finish_hex(), kGitBlobHello);
}

TEST(Digest, SplitUpdatesEqualOneShot) {
  for (auto algo : {DigestAlgo::sha1, DigestAlgo::sha256}) {
    auto d = Digest::start(algo);
    ASSERT_TRUE(d);
    d->update("a");
    d->update("");
    d->update(bytes_of("bc"));
    EXPECT_EQ(d->finish_hex(), algo == DigestAlgo::sha1 ? kSha1Abc : kSha256Abc);
  }
}

TEST(Digest, MovedHasherKeepsItsState) {
  auto d = Digest::start(DigestAlgo::sha256);
  ASSERT_TRUE(d);
  d->update("ab");
  Digest moved = std::move(*d);
  moved.update("c");
  EXPECT_EQ(moved.finish_hex(), kSha256Abc);
}

TEST(Digest, UpdateFromFileStreamsPastOneBuffer) {
  // 1 MiB buffer inside; 2.5 MiB of content crosses two chunk boundaries.
  std::string content;
  for (std::size_t i = 0; content.size() < (5u << 19); ++i) content += std::to_string(i) + ",";
  testing::TempDir dir;
  testing::write_file(dir / "blob", content);
  auto file = ReadFile::open((dir / "blob").string());
  ASSERT_TRUE(file);
  auto d = Digest::start_git_blob(file->size());
  ASSERT_TRUE(d);
  ASSERT_TRUE(d->update_from(*file));
  EXPECT_EQ(d->finish_hex(), git_blob_sha1_hex(bytes_of(content)));

  testing::write_file(dir / "empty", "");
  auto empty = ReadFile::open((dir / "empty").string());
  ASSERT_TRUE(empty);
  auto e = Digest::start(DigestAlgo::sha256);
  ASSERT_TRUE(e);
  ASSERT_TRUE(e->update_from(*empty));
  EXPECT_EQ(e->finish_hex(), kSha256Empty);
}

TEST(Digest, FileDigestOfEitherBlobKind) {
  testing::TempDir dir;
  testing::write_file(dir / "hello", "hello\n");
  testing::write_file(dir / "abc", "abc");
  EXPECT_EQ(file_digest_hex(dir / "hello", BlobDigest::git_sha1).value(), kGitBlobHello);
  EXPECT_EQ(file_digest_hex(dir / "abc", BlobDigest::sha256).value(), kSha256Abc);

  auto missing = file_digest_hex(dir / "absent", BlobDigest::sha256);
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message().find("absent"), std::string::npos) << missing.error().message();
}

TEST(Digest, LowerHexShape) {
  EXPECT_TRUE(is_lower_hex(kSha1Abc));
  EXPECT_TRUE(is_lower_hex(""));
  EXPECT_FALSE(is_lower_hex("A9993E36"));
  EXPECT_FALSE(is_lower_hex("a9993e3g"));
  EXPECT_FALSE(is_lower_hex("\"a9993e36\""));
}

TEST(Digest, FixedLengthHexChecks) {
  const std::string sha1 = kSha1Abc, sha256 = kSha256Abc;
  EXPECT_TRUE(is_git_sha1_hex(sha1));
  EXPECT_FALSE(is_git_sha1_hex(sha256));
  EXPECT_FALSE(is_git_sha1_hex(sha1.substr(1)));
  EXPECT_FALSE(is_git_sha1_hex(sha1 + "0"));
  EXPECT_FALSE(is_git_sha1_hex("A" + sha1.substr(1)));
  EXPECT_FALSE(is_git_sha1_hex(""));

  EXPECT_TRUE(is_sha256_hex(sha256));
  EXPECT_FALSE(is_sha256_hex(sha1));
  EXPECT_FALSE(is_sha256_hex(sha256.substr(0, 63) + "g"));

  EXPECT_TRUE(is_hash_etag(sha1));
  EXPECT_TRUE(is_hash_etag(sha256));
  EXPECT_FALSE(is_hash_etag("\"" + sha1 + "\""));  // quoted: strip before asking
  EXPECT_FALSE(is_hash_etag(sha1.substr(0, 39)));
  EXPECT_FALSE(is_hash_etag(std::string(50, 'a')));   // lower hex, but neither length
  EXPECT_FALSE(is_hash_etag("W/" + sha1));
}

}  // namespace
}  // namespace hubload::util_internal
