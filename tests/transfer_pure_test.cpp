// The pure decisions of the transfer engine: which bytes each connection
// fetches, when to retry, what a server's headers mean, and the blob hashes.
#include <gtest/gtest.h>

#include "transfer/chunk_planner.h"
#include "transfer/content_hasher.h"
#include "hubload/transport.h"
#include "transfer/retry_policy.h"

namespace hubload::transfer_internal {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(RangeSet, MergesOverlappingAndAdjacentRanges) {
  RangeSet s;
  s.add({10, 20});
  s.add({30, 40});
  s.add({20, 25});  // touches [10,20)
  s.add({35, 50});  // overlaps [30,40)
  EXPECT_EQ(s.ranges(), (std::vector<ByteRange>{{10, 25}, {30, 50}}));
  EXPECT_EQ(s.covered(), 35u);
  EXPECT_EQ(s.prefix_end(), 0u);
  s.add({0, 10});
  EXPECT_EQ(s.prefix_end(), 25u);
  EXPECT_TRUE(s.contains({31, 49}));
  EXPECT_FALSE(s.contains({24, 31}));
  s.add({5, 100});
  EXPECT_EQ(s.ranges(), (std::vector<ByteRange>{{0, 100}}));
}

TEST(RangeSet, RemoveSplitsTrimsAndDropsRanges) {
  RangeSet s;
  s.add({0, 100});
  s.add({200, 300});
  s.add({400, 500});
  s.remove({40, 60});    // splits [0,100)
  s.remove({250, 450});  // trims [200,300) and [400,500)
  EXPECT_EQ(s.ranges(), (std::vector<ByteRange>{{0, 40}, {60, 100}, {200, 250}, {450, 500}}));
  s.remove({0, 40});     // exactly one range
  s.remove({100, 200});  // a gap: nothing changes
  s.remove({70, 70});    // empty
  EXPECT_EQ(s.ranges(), (std::vector<ByteRange>{{60, 100}, {200, 250}, {450, 500}}));
  s.remove({0, 1000});
  EXPECT_TRUE(s.empty());
}

TEST(ChunkPlanner, HandsOutPiecesInOrderThenSplitsTheLargestRemainder) {
  ChunkPlanner p(100, 40, 10);
  auto a = p.assign();
  auto b = p.assign();
  auto c = p.assign();
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(a->range, (ByteRange{0, 40}));
  EXPECT_EQ(b->range, (ByteRange{40, 80}));
  EXPECT_EQ(c->range, (ByteRange{80, 100}));
  // a finishes; b is slow (at 50 of 80), c half done (at 90).
  EXPECT_EQ(p.advance(a->id, 40), 40u);
  p.release(a->id);
  p.advance(b->id, 50);
  p.advance(c->id, 90);
  // Nothing unassigned: the free connection takes the upper half of b's remaining 30.
  auto d = p.assign();
  ASSERT_TRUE(d);
  EXPECT_EQ(d->range, (ByteRange{65, 80}));
  EXPECT_EQ(d->split_from, b->id);
  EXPECT_EQ(p.end_of(b->id), 65u);
  // Remainders now 15 (b), 10 (c), 15 (d): all under 2 * min_split, no more splits.
  EXPECT_FALSE(p.assign());
}

TEST(ChunkPlanner, APieceIsCappedNeverUnderMinSplitNorLeavingASliver) {
  ChunkPlanner p(100, 40, 10);
  EXPECT_EQ(p.assign(25)->range, (ByteRange{0, 25}));   // the cap, under the piece
  EXPECT_EQ(p.assign(4)->range, (ByteRange{25, 35}));   // never under min_split
  EXPECT_EQ(p.assign(60)->range, (ByteRange{35, 75}));  // never over the piece
  EXPECT_EQ(p.assign(18)->range, (ByteRange{75, 100})); // 7 left would be a sliver
  EXPECT_FALSE(p.has_unassigned());
}

TEST(ChunkPlanner, AFailedRangeReturnsOnlyItsMissingBytes) {
  ChunkPlanner p(100, 100, 10);
  auto a = p.assign();
  ASSERT_TRUE(a);
  p.advance(a->id, 37);
  p.release(a->id);
  auto b = p.assign();
  ASSERT_TRUE(b);
  EXPECT_EQ(b->range, (ByteRange{37, 100}));
}

TEST(ChunkPlanner, ResumedBytesAreNeverFetchedAgain) {
  ChunkPlanner p(100, 30, 5);
  p.mark_done({0, 20});
  p.mark_done({50, 60});
  std::vector<ByteRange> got;
  while (auto a = p.assign()) {
    got.push_back(a->range);
    p.advance(a->id, a->range.end);
    p.release(a->id);
  }
  EXPECT_EQ(got, (std::vector<ByteRange>{{20, 50}, {60, 90}, {90, 100}}));
  EXPECT_TRUE(p.complete());
}

TEST(ChunkPlanner, DoesNotLeaveASliverSmallerThanMinSplit) {
  ChunkPlanner p(105, 50, 10);
  EXPECT_EQ(p.assign()->range, (ByteRange{0, 50}));
  EXPECT_EQ(p.assign()->range, (ByteRange{50, 105}));  // 5 left would be a sliver
}

TEST(ChunkPlanner, AdvanceIsClampedToALoweredEnd) {
  ChunkPlanner p(100, 100, 10);
  auto a = p.assign();
  auto b = p.assign();  // splits a at 50
  ASSERT_TRUE(b);
  EXPECT_EQ(p.end_of(a->id), 50u);
  EXPECT_EQ(p.advance(a->id, 70), 50u);  // bytes past 50 belong to b
  EXPECT_EQ(p.done().ranges(), (std::vector<ByteRange>{{0, 50}}));
}

TEST(ChunkPlanner, EmptyFileIsCompleteWithoutRequests) {
  ChunkPlanner p(0, 10, 1);
  EXPECT_TRUE(p.complete());
  EXPECT_FALSE(p.assign());
}

TEST(RetryPolicy, ParsesRetryAfterSecondsButNotDates) {
  EXPECT_EQ(parse_retry_after("7"), seconds(7));
  EXPECT_EQ(parse_retry_after(" 0 "), seconds(0));
  EXPECT_FALSE(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"));
  EXPECT_FALSE(parse_retry_after("-3"));
  EXPECT_FALSE(parse_retry_after(""));
  EXPECT_FALSE(parse_retry_after("99999999999999999999"));
}

TEST(RetryPolicy, ParsesTheHubsRateLimitHeader) {
  EXPECT_EQ(parse_ratelimit_reset("\"api\";r=0;t=55"), seconds(55));
  // Several policies: the exhausted one decides.
  EXPECT_EQ(parse_ratelimit_reset("\"api\";r=10;t=300, \"resolvers\";r=0;t=12"), seconds(12));
  EXPECT_EQ(parse_ratelimit_reset("\"api\";t=4"), seconds(4));
  EXPECT_FALSE(parse_ratelimit_reset("\"api\";r=0"));
  EXPECT_FALSE(parse_ratelimit_reset("garbage"));
}

TEST(RetryPolicy, BackoffDoublesWithinJitterBoundsAndIsCapped) {
  const milliseconds base(100), cap(1000);
  EXPECT_EQ(backoff_delay(1, base, cap, 0.0), milliseconds(50));
  EXPECT_EQ(backoff_delay(1, base, cap, 1.0), milliseconds(100));
  EXPECT_EQ(backoff_delay(3, base, cap, 1.0), milliseconds(400));
  EXPECT_EQ(backoff_delay(3, base, cap, 0.0), milliseconds(200));
  EXPECT_EQ(backoff_delay(10, base, cap, 1.0), milliseconds(1000));
  EXPECT_EQ(backoff_delay(1000, base, cap, 0.0), milliseconds(500));
}

TEST(RetryPolicy, RetryableStatuses) {
  EXPECT_TRUE(is_retryable_status(429));
  EXPECT_TRUE(is_retryable_status(408));
  EXPECT_TRUE(is_retryable_status(503));
  EXPECT_FALSE(is_retryable_status(404));
  EXPECT_FALSE(is_retryable_status(416));
  EXPECT_FALSE(is_retryable_status(401));
}

TEST(HttpResponse, ParsesContentRange) {
  auto r = parse_content_range("bytes 10-19/100");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->first, 10u);
  EXPECT_EQ(r->last, 19u);
  EXPECT_EQ(r->total, 100u);
  EXPECT_FALSE(parse_content_range("bytes */100"));
  EXPECT_FALSE(parse_content_range("bytes 20-10/100"));
  // A range that ends at or past the length it claims (found by fuzz/http_text_fuzz).
  EXPECT_FALSE(parse_content_range("bytes 00-50000/03"));
  EXPECT_FALSE(parse_content_range("bytes 0-100/100"));
  EXPECT_TRUE(parse_content_range("bytes 0-99/100"));
}

TEST(HttpResponse, RedirectTargetsResolveAgainstTheAnsweringUrl) {
  EXPECT_EQ(resolve_location("http://a.test/x/y?q=1", "https://cdn.test/blob"), "https://cdn.test/blob");
  EXPECT_EQ(resolve_location("http://a.test/x/y?q=1", "/z/w"), "http://a.test/z/w");
  EXPECT_EQ(resolve_location("https://a.test/x/y", "//cdn.test/b"), "https://cdn.test/b");
  EXPECT_EQ(resolve_location("http://a.test/x/y", "w"), "http://a.test/x/w");
  EXPECT_EQ(url_origin("HTTP://A.test:8080/x"), "http://a.test:8080");
}

std::string hash_of(std::size_t etag_len, std::string_view content) {
  auto h = ContentHasher::for_etag_length(etag_len, content.size());
  EXPECT_TRUE(h);
  h->update(std::as_bytes(std::span(content.data(), content.size())));
  return h->final_hex();
}

TEST(ContentHasher, GitBlobSha1MatchesGitHashObject) {
  // `printf 'hello world\n' | git hash-object --stdin`
  EXPECT_EQ(hash_of(40, "hello world\n"), "3b18e512dba79e4c8300dd08aeb37f8e728b8dad");
  EXPECT_EQ(hash_of(40, ""), "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391");
}

TEST(ContentHasher, Sha256ForLfsEtags) {
  EXPECT_EQ(hash_of(64, "abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(hash_of(64, ""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(ContentHasher, SplitUpdatesEqualOneUpdate) {
  auto h = ContentHasher::for_etag_length(64, 3);
  ASSERT_TRUE(h);
  h->update(std::as_bytes(std::span("a", 1)));
  h->update(std::as_bytes(std::span("bc", 2)));
  EXPECT_EQ(h->final_hex(), hash_of(64, "abc"));
}

TEST(ContentHasher, RejectsEtagsThatNameNoHash) {
  auto h = ContentHasher::for_etag_length(32, 0);
  ASSERT_FALSE(h);
  EXPECT_EQ(h.error().kind(), ErrorKind::invalid_input);
  EXPECT_TRUE(util_internal::is_hash_etag("3b18e512dba79e4c8300dd08aeb37f8e728b8dad"));
  EXPECT_FALSE(util_internal::is_hash_etag("3B18E512DBA79E4C8300DD08AEB37F8E728B8DAD"));
  EXPECT_FALSE(util_internal::is_hash_etag("\"3b18e512dba79e4c8300dd08aeb37f8e728b8dad\""));
}

}  // namespace
}  // namespace hubload::transfer_internal
