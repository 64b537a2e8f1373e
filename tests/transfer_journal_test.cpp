// The resume journal and the partial files it describes: encoding, rejection
// of anything torn or lying, crash consistency of saving, and adoption of a
// dead owner's partial, and the verifier that claims synced bytes in it.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <set>

#include "hubload/cache.h"
#include "support/test_support.h"
#include "support/transfer_data.h"
#include "transfer/content_hasher.h"
#include "transfer/journal.h"
#include "transfer/partial_file.h"
#include "transfer/prefix_verifier.h"

namespace hubload::transfer_internal {
namespace {

namespace fs = std::filesystem;
using hubload::testing::TempDir;

Journal sample() {
  return Journal{1000, std::string(64, 'a'), "node7", 4242, "b00t", {{0, 100}, {300, 400}}, {{0, 120}, {300, 1000}}};
}

TEST(Journal, EncodesToStableTextAndDecodesBack) {
  std::string text = encode_journal(sample());
  EXPECT_EQ(text, "hubload-partial 1\nsize 1000\nhash " + std::string(64, 'a') +
                      "\nowner node7 4242\nboot b00t\nrange 0 100\nrange 300 400\nwritten 0 120\n"
                      "written 300 1000\nend\n");
  auto j = decode_journal(text, "j");
  ASSERT_TRUE(j);
  EXPECT_EQ(*j, sample());
}

// Journals written before the written claims have no boot line and only ranges.
TEST(Journal, ReadsJournalsWithoutBootOrWrittenLines) {
  auto j = decode_journal("hubload-partial 1\nsize 10\nhash -\nowner h 1\nrange 0 5\nend\n", "old");
  ASSERT_TRUE(j) << j.error().to_string();
  EXPECT_EQ(j->boot_id, "");
  EXPECT_EQ(j->ranges, (std::vector<ByteRange>{{0, 5}}));
  EXPECT_TRUE(j->written.empty());
  // A written line before a range line is out of place.
  EXPECT_FALSE(decode_journal("hubload-partial 1\nsize 10\nhash -\nowner h 1\nwritten 0 5\nrange 0 5\nend\n", "x"));
}

TEST(Journal, RejectsTruncatedText) {
  std::string text = encode_journal(sample());
  // Every proper prefix is torn: none may be read as a valid (smaller) journal.
  for (std::size_t n = 0; n < text.size(); ++n) {
    auto j = decode_journal(text.substr(0, n), "p.journal");
    EXPECT_FALSE(j) << "prefix of " << n << " bytes was accepted";
    if (!j) {
      EXPECT_EQ(j.error().kind(), ErrorKind::invalid_input);
    }
  }
}

// Found by fuzz/journal_fuzz: a pid past pid_t's range wrapped to a negative
// one, which kill(2) reads as a process group when it checks the owner.
TEST(Journal, RejectsAnOwnerPidOutsidePidT) {
  auto with_pid = [](std::string_view pid) {
    return "hubload-partial 1\nsize 100\nhash -\nowner host " + std::string(pid) + "\nend\n";
  };
  EXPECT_TRUE(decode_journal(with_pid("2147483647"), "p.journal"));
  for (std::string_view pid : {"2147483648", "15534734074803119000", "-1"}) {
    auto j = decode_journal(with_pid(pid), "p.journal");
    ASSERT_FALSE(j) << pid;
    EXPECT_EQ(j.error().message(), "p.journal: bad resume journal: bad owner line");
  }
}

TEST(Journal, RejectsRangesPastTheSizeOrOutOfOrder) {
  Journal past = sample();
  past.ranges = {{0, 1001}};
  auto a = decode_journal(encode_journal(past), "x");
  ASSERT_FALSE(a);
  EXPECT_NE(a.error().message().find("x: bad resume journal"), std::string::npos);
  Journal disorder = sample();
  disorder.ranges = {{300, 400}, {0, 100}};
  EXPECT_FALSE(decode_journal(encode_journal(disorder), "x"));
  Journal overlap = sample();
  overlap.ranges = {{0, 100}, {50, 150}};
  EXPECT_FALSE(decode_journal(encode_journal(overlap), "x"));
  Journal written_past = sample();
  written_past.written = {{0, 1001}};
  EXPECT_FALSE(decode_journal(encode_journal(written_past), "x"));
}

TEST(Journal, SaveReplacesAtomicallyAndLeavesNoTemporary) {
  TempDir dir;
  std::string path = (dir / "f.journal").string();
  ASSERT_TRUE(save_journal(path, sample()));
  Journal next = sample();
  next.ranges = {{0, 1000}};
  ASSERT_TRUE(save_journal(path, next));
  auto loaded = load_journal(path);
  ASSERT_TRUE(loaded);
  EXPECT_EQ(*loaded, next);
  EXPECT_FALSE(fs::exists(path + ".tmp"));
}

TEST(Journal, AKilledWriterLeavesTheOldOrTheNewJournalNeverATornOne) {
  TempDir dir;
  std::string path = (dir / "f.journal").string();
  ASSERT_TRUE(save_journal(path, sample()));
  for (int round = 0; round < 20; ++round) {
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      Journal j = sample();
      for (std::uint64_t i = 0;; ++i) {
        j.ranges = {{0, 100 + i % 800}};
        (void)save_journal(path, j);
      }
    }
    ::usleep(2000 + round * 500);
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    auto j = load_journal(path);
    ASSERT_TRUE(j) << j.error().to_string();
    EXPECT_EQ(j->size, 1000u);
  }
}

PartialOptions dead_owner_options() {
  PartialOptions o;
  o.check_owner_alive = false;  // treat every journal's owner as gone
  return o;
}

RangeSet ranges(std::initializer_list<ByteRange> list) {
  RangeSet set;
  for (const ByteRange& r : list) set.add(r);
  return set;
}

// What a writer leaves behind: the partial of `dest`, `content` written at
// offset 0, and a saved journal claiming `synced` (and `written`).
Result<PartialFile> journaled_partial(const std::string& dest, std::uint64_t size, const std::string& hash,
                                      std::string_view content, const RangeSet& synced,
                                      const RangeSet& written = {}, const PartialOptions& options = {}) {
  HUBLOAD_ASSIGN_OR_RETURN(PartialFile p, PartialFile::open(dest, size, hash, options));
  if (::pwrite(p.fd(), content.data(), content.size(), 0) != static_cast<ssize_t>(content.size())) {
    return io_error(p.data_path() + ": short write");
  }
  HUBLOAD_TRY(save_journal(p.journal_path(), p.journal(synced, written)));
  return p;
}

// Claims lag one update: writeback of newly stable bytes starts at one update
// and is waited for, and claimed, at the next; a final update claims all.
TEST(PrefixVerifier, ClaimsPostedBytesOneUpdateLaterAndEverythingWhenFinal) {
  TempDir dir;
  std::string hash(64, 'c');
  auto p = PartialFile::open((dir / "blob").string(), 3 << 20, hash, {});
  ASSERT_TRUE(p);
  std::string data(3 << 20, 'x');
  ASSERT_EQ(::pwrite(p->fd(), data.data(), data.size(), 0), static_cast<ssize_t>(data.size()));
  auto claimed = [&] {
    auto j = load_journal(p->journal_path());
    EXPECT_TRUE(j) << j.error().to_string();
    return j ? j->ranges : std::vector<ByteRange>{};
  };
  auto posted = [&](std::uint64_t end) {
    RangeSet r;
    r.add({0, end});
    return p->journal(r);
  };
  PrefixVerifier v(p->fd(), p->data_path(), data.size(), std::nullopt, p->journal_path());
  v.post_journal(posted(1 << 20));
  v.wait_idle();
  EXPECT_EQ(claimed(), std::vector<ByteRange>{});
  v.post_journal(posted(2 << 20));
  v.wait_idle();
  EXPECT_EQ(claimed(), (std::vector<ByteRange>{{0, 1 << 20}}));
  v.post_journal(posted(3 << 20), /*final=*/true);
  v.wait_idle();
  EXPECT_EQ(claimed(), (std::vector<ByteRange>{{0, 3 << 20}}));
  ASSERT_TRUE(v.finish());
}

// Bytes that continue the hashed prefix are hashed from the writer's buffer,
// never read back (the file holds zeros there, the digest is still the
// buffer's); the bytes written ahead are read back from the file.
TEST(PrefixVerifier, HashesFromTheBufferWhereItContinuesThePrefixAndReadsBackTheRest) {
  const std::string data = testing::random_bytes(3 << 20, 42);
  // Named: the thread reads back. Unnamed (no journal): finish() does, with no thread.
  for (bool unnamed : {false, true}) {
    SCOPED_TRACE(unnamed ? "unnamed" : "named");
    TempDir dir;
    PartialOptions o;
    o.unnamed = unnamed;
    auto p = PartialFile::open((dir / "blob").string(), data.size(), std::string(64, 'e'), o);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->journal_path().empty(), unnamed);
    const std::string zeros(1 << 20, '\0');
    ASSERT_EQ(::pwrite(p->fd(), zeros.data(), zeros.size(), 0), static_cast<ssize_t>(zeros.size()));
    ASSERT_EQ(::pwrite(p->fd(), data.data() + (1 << 20), 2 << 20, 1 << 20), static_cast<ssize_t>(2 << 20));
    auto hasher = ContentHasher::for_etag_length(64, data.size());
    ASSERT_TRUE(hasher);
    PrefixVerifier v(p->fd(), p->data_path(), data.size(), std::move(*hasher), p->journal_path());
    EXPECT_FALSE(v.hash_written(4096, std::span(data.data() + 4096, 4096))) << "not at the hashed prefix";
    EXPECT_TRUE(v.hash_written(0, std::span(data.data(), 1 << 19)));
    EXPECT_TRUE(v.hash_written(1 << 19, std::span(data.data() + (1 << 19), 1 << 19)));
    v.set_prefix(data.size());
    v.post_journal(p->journal(RangeSet{}, RangeSet{}));
    v.wait_idle();
    auto digest = v.finish();
    ASSERT_TRUE(digest) << digest.error().to_string();
    EXPECT_EQ(*digest, testing::sha256_hex(data));
  }
}

// An adopted partial's claims stay claimed while new bytes wait for their sync.
TEST(PrefixVerifier, KeepsTheAdoptedClaimsFromTheFirstSave) {
  TempDir dir;
  std::string data(2 << 20, 'y');
  const RangeSet adopted = ranges({{0, 1 << 20}});
  auto p = journaled_partial((dir / "blob").string(), data.size(), std::string(64, 'd'), data, adopted);
  ASSERT_TRUE(p) << p.error().to_string();
  PrefixVerifier v(p->fd(), p->data_path(), data.size(), std::nullopt, p->journal_path(), adopted);
  v.post_journal(p->journal(ranges({{0, 2 << 20}})));
  v.wait_idle();
  auto j = load_journal(p->journal_path());
  ASSERT_TRUE(j) << j.error().to_string();
  EXPECT_EQ(j->ranges, (std::vector<ByteRange>{{0, 1 << 20}}));
}

TEST(PartialFile, BootIdIsTheKernelsAndStable) {
  std::string id = current_boot_id();
  EXPECT_EQ(id.size(), 36u) << id;  // a UUID, without the newline
  EXPECT_EQ(current_boot_id(), id);
}

// Written claims count while the machine has not rebooted; after a reboot only
// the synced ones do.
TEST(PartialFile, KeepsWrittenClaimsInTheSameBootAndOnlySyncedOnesAfterAReboot) {
  for (bool rebooted : {false, true}) {
    SCOPED_TRACE(rebooted ? "rebooted" : "same boot");
    TempDir dir;
    std::string dest = (dir / "blob").string();
    std::string hash(64, 'e');
    PartialOptions o = dead_owner_options();
    o.boot_id = "boot-1";
    {
      auto p = journaled_partial(dest, 10, hash, "0123456789", ranges({{0, 4}}), ranges({{0, 8}}), o);
      ASSERT_TRUE(p) << p.error().to_string();
    }
    if (rebooted) o.boot_id = "boot-2";
    auto q = PartialFile::open(dest, 10, hash, o);
    ASSERT_TRUE(q);
    EXPECT_EQ(q->adopted().ranges(), (std::vector<ByteRange>{{0, rebooted ? 4u : 8u}}));
    EXPECT_EQ(q->adopted_synced().ranges(), (std::vector<ByteRange>{{0, 4}}));
    auto resigned = load_journal(q->journal_path());
    ASSERT_TRUE(resigned) << resigned.error().to_string();
    EXPECT_EQ(resigned->ranges, (std::vector<ByteRange>{{0, 4}}));
    EXPECT_EQ(resigned->written, (std::vector<ByteRange>{{0, rebooted ? 4u : 8u}}));
  }
}

TEST(PartialFile, AdoptsADeadOwnersPartialWithTheSameSizeAndHash) {
  TempDir dir;
  std::string dest = (dir / "blob").string();
  std::string hash(64, 'b');
  std::string old_data, old_journal;
  {
    auto p = journaled_partial(dest, 10, hash, "0123456789", ranges({{0, 6}}));
    ASSERT_TRUE(p) << p.error().to_string();
    old_data = p->data_path();
    old_journal = p->journal_path();
  }
  auto q = PartialFile::open(dest, 10, hash, dead_owner_options());
  ASSERT_TRUE(q);
  EXPECT_EQ(q->adopted().ranges(), (std::vector<ByteRange>{{0, 6}}));
  auto resigned = load_journal(q->journal_path());  // now names this process as owner
  ASSERT_TRUE(resigned) << resigned.error().to_string();
  EXPECT_EQ(resigned->pid, static_cast<long>(::getpid()));
  EXPECT_EQ(resigned->ranges, (std::vector<ByteRange>{{0, 6}}));
  EXPECT_NE(q->data_path(), old_data);
  EXPECT_FALSE(fs::exists(old_data));
  EXPECT_FALSE(fs::exists(old_journal));
  EXPECT_EQ(hubload::testing::read_file(q->data_path()), "0123456789");
}

TEST(PartialFile, LeavesALiveOwnersPartialAlone) {
  TempDir dir;
  std::string dest = (dir / "blob").string();
  auto p = journaled_partial(dest, 10, "", "", ranges({{0, 4}}));
  ASSERT_TRUE(p) << p.error().to_string();
  // Same process = a live owner: the second writer must start its own partial.
  auto q = PartialFile::open(dest, 10, "", {});
  ASSERT_TRUE(q);
  EXPECT_TRUE(q->adopted().empty());
  EXPECT_TRUE(fs::exists(p->data_path()));
  EXPECT_NE(q->data_path(), p->data_path());
}

TEST(PartialFile, DeletesADeadOwnersPartialForOtherContent) {
  TempDir dir;
  std::string dest = (dir / "blob").string();
  std::string old_data;
  {
    auto p = journaled_partial(dest, 10, std::string(64, 'c'), "", {});
    ASSERT_TRUE(p) << p.error().to_string();
    old_data = p->data_path();
  }
  auto q = PartialFile::open(dest, 20, std::string(64, 'c'), dead_owner_options());
  ASSERT_TRUE(q);
  EXPECT_TRUE(q->adopted().empty());
  EXPECT_FALSE(fs::exists(old_data));
}

TEST(PartialFile, RejectsAJournalClaimingBytesPastTheDataFile) {
  TempDir dir;
  std::string dest = (dir / "blob").string();
  {
    auto lie = journaled_partial(dest, 10, "", "0123", ranges({{0, 8}}));
    ASSERT_TRUE(lie) << lie.error().to_string();
  }
  auto q = PartialFile::open(dest, 10, "", dead_owner_options());
  ASSERT_TRUE(q);
  EXPECT_TRUE(q->adopted().empty());
}

TEST(PartialFile, PublishRenamesIntoPlaceAndRemovesTheJournal) {
  TempDir dir;
  std::string dest = (dir / "blob").string();
  auto p = journaled_partial(dest, 3, "", "xyz", {});
  ASSERT_TRUE(p) << p.error().to_string();
  std::string journal = p->journal_path();
  ASSERT_TRUE(p->publish(dest));
  EXPECT_EQ(hubload::testing::read_file(dest), "xyz");
  EXPECT_FALSE(fs::exists(journal));
}

std::size_t entries(const fs::path& dir) {
  return static_cast<std::size_t>(std::distance(fs::directory_iterator(dir), fs::directory_iterator()));
}

bool write_all(const PartialFile& p, std::string_view bytes) {
  return ::pwrite(p.fd(), bytes.data(), bytes.size(), 0) == static_cast<ssize_t>(bytes.size());
}

// /tmp is ext4 or tmpfs here, both of which make unnamed files.
TEST(PartialFile, AnUnnamedPartialHasNoNameOrJournalUntilPublishLinksIt) {
  TempDir dir;
  const std::string dest = (dir / "blob").string();
  PartialOptions o;
  o.unnamed = true;
  auto p = PartialFile::open(dest, 3, "", o);
  ASSERT_TRUE(p) << p.error().to_string();
  EXPECT_TRUE(p->journal_path().empty());
  ASSERT_TRUE(write_all(*p, "xyz"));
  ASSERT_TRUE(p->reset());
  ASSERT_TRUE(write_all(*p, "abc"));
  EXPECT_EQ(entries(dir.path()), 0u);  // nothing a crash could leave behind
  ASSERT_TRUE(p->publish(dest));
  EXPECT_EQ(hubload::testing::read_file(dest), "abc");
  EXPECT_EQ(entries(dir.path()), 1u);

  // A damaged copy in the way is replaced, as a rename would.
  auto q = PartialFile::open(dest, 3, "", o);
  ASSERT_TRUE(q) << q.error().to_string();
  ASSERT_TRUE(write_all(*q, "def"));
  ASSERT_TRUE(q->publish(dest));
  EXPECT_EQ(hubload::testing::read_file(dest), "def");
  EXPECT_EQ(entries(dir.path()), 1u);

  auto dropped = PartialFile::open((dir / "other").string(), 3, "", o);
  ASSERT_TRUE(dropped);
  ASSERT_TRUE(write_all(*dropped, "ghi"));
  dropped->discard();
  EXPECT_EQ(entries(dir.path()), 1u);
}

TEST(PartialFile, AnUnnamedOpenStillAdoptsADeadOwnersPartial) {
  TempDir dir;
  const std::string dest = (dir / "blob").string();
  const std::string hash(64, 'b');
  {
    auto p = journaled_partial(dest, 10, hash, "0123456789", ranges({{0, 6}}));
    ASSERT_TRUE(p) << p.error().to_string();
  }
  PartialOptions o = dead_owner_options();
  o.unnamed = true;
  auto q = PartialFile::open(dest, 10, hash, o);
  ASSERT_TRUE(q);
  EXPECT_EQ(q->adopted().ranges(), (std::vector<ByteRange>{{0, 6}}));
  EXPECT_FALSE(q->journal_path().empty());
}

TEST(PartialFile, StemsInAFolderNameEveryPartialAndOnlyThose) {
  TempDir dir;
  for (const char* name : {"a.12345678.incomplete", "b.0000000e.journal.incomplete", "c.incomplete",
                           "d", "e.1234567.incomplete", "f.12345678.journal.incomplete.tmp"}) {
    hubload::testing::write_file(dir / name, "x");
  }
  EXPECT_EQ(partial_stems_in(dir.path()), (std::set<std::string>{"a", "b"}));
  EXPECT_TRUE(partial_stems_in(dir / "missing").empty());
}

TEST(PartialFile, AnOpenToldNotToScanLeavesTheFolderAlone) {
  TempDir dir;
  const std::string dest = (dir / "blob").string();
  std::string old_data;
  {
    auto p = journaled_partial(dest, 10, std::string(64, 'c'), "", {});
    ASSERT_TRUE(p) << p.error().to_string();
    old_data = p->data_path();
  }
  PartialOptions o = dead_owner_options();
  o.scan = false;
  auto q = PartialFile::open(dest, 20, std::string(64, 'c'), o);
  ASSERT_TRUE(q);
  EXPECT_TRUE(fs::exists(old_data));  // with a scan it is deleted (DeletesADeadOwnersPartialForOtherContent)
}

TEST(BlobLock, SecondHolderIsToldToWait) {
  TempDir dir;
  std::string path = (dir / "locks" / "x.lock").string();
  auto a = BlobLock::try_acquire(path);
  ASSERT_TRUE(a);
  ASSERT_TRUE(a->has_value());
  auto b = BlobLock::try_acquire(path);  // another open file description: flock conflicts
  ASSERT_TRUE(b);
  EXPECT_FALSE(b->has_value());
  a->reset();
  auto c = BlobLock::try_acquire(path);
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->has_value());
}

TEST(BlobLock, AFolderThatCannotBeMadeIsAnErrorNamingIt) {
  TempDir dir;
  hubload::testing::write_file(dir / "file", "not a folder");
  const fs::path path = dir / "file" / "locks" / "x.lock";
  const std::string folder = (dir / "file" / "locks").string();
  auto tried = BlobLock::try_acquire(path);
  ASSERT_FALSE(tried);
  EXPECT_EQ(tried.error().kind(), ErrorKind::io);
  EXPECT_NE(tried.error().message().find(folder), std::string::npos) << tried.error().to_string();
  auto waited = BlobLock::acquire(path);
  ASSERT_FALSE(waited);
  EXPECT_EQ(waited.error().kind(), ErrorKind::io);
}

}  // namespace
}  // namespace hubload::transfer_internal
