// A full disk gives a clear error, corrupts nothing, and writes work again
// once space returns. Two ways to run out of space:
//  - a 2 MiB tmpfs mounted in a private mount namespace (needs CAP_SYS_ADMIN;
//    skipped otherwise), the real ENOSPC path through SQLite's VFS;
//  - SQLite's max_page_count, which yields the same SQLITE_FULL without any
//    privilege and always runs.
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/mount.h>

#include "store_fixture.hpp"

namespace hiegate::daemon {
namespace {

using namespace testing;
using test::TempDir;

// Publishes 100 KiB documents until the store is full; returns how many
// were acknowledged. Every acknowledged one must stay readable.
int fill_until_full(Store& s) {
  for (int i = 0; i < 400; ++i) {
    auto st = publish(s, doc("P", "D" + std::to_string(i)), std::string(100 * 1024, static_cast<char>('a' + i % 26)));
    if (!st) {
      EXPECT_EQ(st.error().code, "store_full") << st.error().message;
      EXPECT_NE(st.error().message.find("full"), std::string::npos);
      return i;
    }
  }
  ADD_FAILURE() << "the store never filled up";
  return 400;
}

void expect_readable(Store& s, int n) {
  for (int i = 0; i < n; ++i) {
    auto c = read_content(s, "D" + std::to_string(i));
    ASSERT_TRUE(c.ok()) << "D" << i << ": " << c.error().message;
    EXPECT_EQ(c->size(), 100u * 1024);
  }
  auto report = check(s);
  ASSERT_TRUE(report.ok()) << report.error().message;
  EXPECT_TRUE(report->failures.empty());
  EXPECT_EQ(report->sqlite_check, "ok");
}

TEST(StoreDiskFull, PageLimitGivesClearErrorAndRecovers) {
  TempDir dir;
  const auto keys = make_ring({{1, 'k'}});
  StoreOptions opt;
  opt.max_page_count = 300;  // 1.2 MiB
  int acked = 0;
  {
    auto store = open_store(dir, keys, opt);
    ASSERT_TRUE(store.ok());
    acked = fill_until_full(**store);
    EXPECT_GT(acked, 2);
    expect_readable(**store, acked);
    // Small writes that still fit keep working; a record write reports cleanly.
    auto small = put_record(**store, RecordTable::audit, {"a", "", "x"});
    EXPECT_TRUE(small.ok() || small.error().code == "store_full");
  }
  opt.max_page_count = 0;  // space returns
  auto store = open_store(dir, keys, opt);
  ASSERT_TRUE(store.ok()) << store.error().message;
  expect_readable(**store, acked);
  ASSERT_TRUE(publish(**store, doc("P", "D" + std::to_string(acked)), std::string(100 * 1024, 'q')).ok());
  expect_readable(**store, acked);
}

TEST(StoreDiskFull, SmallTmpfsGivesClearErrorAndRecovers) {
  TempDir dir;
  const auto mnt = dir / "fs";
  std::filesystem::create_directory(mnt);
  if (::unshare(CLONE_NEWNS) != 0 || ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
      ::mount("tmpfs", mnt.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, "size=2m,mode=0700") != 0) {
    GTEST_SKIP() << "cannot mount a tmpfs here (needs CAP_SYS_ADMIN); the page-limit test covers SQLITE_FULL";
  }
  const auto keys = make_ring({{1, 'k'}});
  StoreOptions opt;
  opt.dir = mnt / "state";
  {
    auto store = Store::open(opt, keys);
    ASSERT_TRUE(store.ok()) << store.error().message;
    const int acked = fill_until_full(**store);
    EXPECT_GT(acked, 2);
    expect_readable(**store, acked);
    // Space returns while the store stays open.
    ASSERT_EQ(::mount("tmpfs", mnt.c_str(), "tmpfs", MS_REMOUNT | MS_NOSUID | MS_NODEV, "size=32m,mode=0700"), 0);
    ASSERT_TRUE(publish(**store, doc("P", "D" + std::to_string(acked)), std::string(100 * 1024, 'q')).ok());
    expect_readable(**store, acked);
  }
  auto store = Store::open(opt, keys);
  ASSERT_TRUE(store.ok()) << store.error().message;
  auto report = check(**store);
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->failures.empty());
  store->reset();
  ::umount2(mnt.c_str(), MNT_DETACH);
}

}  // namespace
}  // namespace hiegate::daemon
