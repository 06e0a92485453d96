// The audit flusher: callbacks run after the WAL flush, in commit order; a
// flush that fails refuses the requests instead of answering them.
#include <gtest/gtest.h>

#include <fstream>
#include <future>

#include "audit/syncer.hpp"
#include "audit_fixture.hpp"
#include "support/temp_dir.hpp"

namespace hiegate::daemon {
namespace {

using testing::QuietLogger;

TEST(AuditSyncer, CallbacksRunAfterTheFlushInCommitOrder) {
  test::TempDir dir;
  const auto wal = dir.path() / "audit.db-wal";
  std::ofstream(wal) << "frames";
  QuietLogger log;
  std::vector<int> order;
  std::vector<Status> got;
  {
    audit::Syncer syncer(wal, true, log);
    for (int g = 0; g < 3; ++g) {
      std::vector<audit::Syncer::Callback> cbs;
      for (int i = 0; i < 2; ++i) {
        cbs.emplace_back([&, n = g * 2 + i](Status st) {
          order.push_back(n);
          got.push_back(std::move(st));
        });
      }
      syncer.push({}, std::move(cbs));
    }
  }  // the destructor runs whatever is still queued
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4, 5}));
  for (const auto& st : got) EXPECT_TRUE(st.ok());
}

TEST(AuditSyncer, AFailedFlushRefusesUntilRestartAndAFailedCommitPassesThrough) {
  test::TempDir dir;
  QuietLogger log;
  audit::Syncer syncer(dir.path() / "missing" / "audit.db-wal", true, log);
  std::promise<Status> flushed, failed;
  syncer.push({}, {[&](Status st) { flushed.set_value(std::move(st)); }});
  syncer.push(make_error("audit_unavailable", "disk full"), {[&](Status st) { failed.set_value(std::move(st)); }});
  const auto a = flushed.get_future().get();
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.error().code, "audit_unavailable");
  EXPECT_NE(a.error().message.find("audit.db-wal"), std::string::npos) << a.error().message;
  const auto b = failed.get_future().get();
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.error().message, "disk full");
  // Once a flush has failed, nothing later is vouched for, even when the
  // file is there again: the process must restart (and recover the WAL).
  std::filesystem::create_directories(dir.path() / "missing");
  std::ofstream(dir.path() / "missing" / "audit.db-wal") << "frames";
  std::promise<Status> later;
  syncer.push({}, {[&](Status st) { later.set_value(std::move(st)); }});
  const auto c = later.get_future().get();
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, "audit_unavailable");
}

}  // namespace
}  // namespace hiegate::daemon
