// The blob lock and temp files: exclusion between processes, no hang after a
// holder dies, and no partial blob left behind.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "hubload/cache.h"
#include "support/test_support.h"

namespace hubload {
namespace {

namespace fs = std::filesystem;

// Whether another process could take the lock right now (LOCK_NB in a child).
bool lockable_from_child(const fs::path& lock_file) {
  pid_t pid = ::fork();
  if (pid == 0) {
    int fd = ::open(lock_file.c_str(), O_RDWR);
    _exit(fd >= 0 && ::flock(fd, LOCK_EX | LOCK_NB) == 0 ? 0 : 1);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

TEST(BlobLockTest, ExcludesOtherProcessesAndReleasesOnDestruction) {
  testing::TempDir tmp;
  const fs::path lock_file = tmp / ".locks/models--a--b/e.lock";
  {
    auto lock = BlobLock::acquire(lock_file);
    ASSERT_TRUE(lock) << lock.error().to_string();
    EXPECT_FALSE(lockable_from_child(lock_file));
    EXPECT_EQ(fs::status(lock_file).permissions() & fs::perms::all,
              fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read | fs::perms::group_write |
                  fs::perms::others_read);
  }
  EXPECT_TRUE(lockable_from_child(lock_file));
  EXPECT_TRUE(fs::exists(lock_file));  // never deleted, like Python
}

TEST(BlobLockTest, LockOfADeadProcessDoesNotBlock) {
  testing::TempDir tmp;
  const fs::path lock_file = tmp / "dead.lock";
  pid_t pid = ::fork();
  if (pid == 0) {
    auto lock = BlobLock::acquire(lock_file);
    _exit(lock ? 0 : 1);  // dies holding it: no destructor runs
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_EQ(WEXITSTATUS(status), 0);
  ASSERT_TRUE(fs::exists(lock_file));
  auto lock = BlobLock::acquire(lock_file);  // would hang forever if existence meant "locked"
  EXPECT_TRUE(lock);
}

TEST(TempBlobTest, UniqueIncompleteNameDeletedUnlessPublished) {
  testing::TempDir tmp;
  fs::path first_path;
  {
    auto a = TempBlob::create(tmp.path(), "etag1");
    auto b = TempBlob::create(tmp.path(), "etag1");
    ASSERT_TRUE(a && b);
    EXPECT_NE(a->path(), b->path());
    EXPECT_TRUE(a->path().filename().string().starts_with("etag1."));
    EXPECT_TRUE(a->path().filename().string().ends_with(".incomplete"));
    first_path = a->path();
    ASSERT_EQ(::write(b->fd(), "abc", 3), 3);
    ASSERT_TRUE(b->publish(tmp / "etag1"));
  }
  EXPECT_FALSE(fs::exists(first_path));
  EXPECT_EQ(testing::read_file(tmp / "etag1"), "abc");
  int entries = 0;
  for ([[maybe_unused]] auto& e : fs::directory_iterator(tmp.path())) ++entries;
  EXPECT_EQ(entries, 1);
}

}  // namespace
}  // namespace hubload
