// purge_cache orders: carried out once per order id, even across a restart,
// destroying only what was cached before purge_before, audited each time.
#include "hiegate/daemon/cache_purges.hpp"

#include <gtest/gtest.h>

#include <future>

#include "audit_fixture.hpp"
#include "store_fixture.hpp"

namespace hiegate::daemon {
namespace {

using testing::make_ring;
using testing::QuietLogger;
using testing::open_store;
using testing::source_of;
using testing::wait;

constexpr std::int64_t kTtl = 3600;

Status cache(Store& s, const std::string& id, std::int64_t now) {
  return wait<void>([&](auto cb) {
    s.cache_put(CachedDocument{"1300000002", id, "{}", 0, 0}, source_of("content of " + id), now, cb);
  });
}
bool cached(Store& s, const std::string& id, std::int64_t now) {
  return wait<CachedDocument>([&](auto cb) { s.cache_get("1300000002", id, now, cb); }).ok();
}

std::size_t run(CachePurges& p, const std::vector<policy::PurgeOrder>& orders) {
  std::promise<std::size_t> done;
  p.check(orders, [&](std::size_t n) { done.set_value(n); });
  return done.get_future().get();
}

policy::PurgeOrder order(std::string id, std::int64_t before) {
  return {std::move(id), policy::Time(std::chrono::seconds(before))};
}

TEST(CachePurges, OncePerOrderIdAcrossRestarts) {
  test::TempDir dir;
  const auto keys = make_ring({{1, 'a'}});
  StoreOptions opt;
  opt.cache_ttl_seconds = kTtl;
  QuietLogger log;
  std::vector<AuditRecord> audited;
  std::mutex mu;
  auto audit = [&](AuditRecord r) {
    std::lock_guard lk(mu);
    audited.push_back(std::move(r));
  };
  const std::int64_t t = 1'800'000'000;
  {
    auto store = open_store(dir, keys, opt);
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE(cache(**store, "old", t - 100));
    ASSERT_TRUE(cache(**store, "new", t + 10));
    CachePurges purges(**store, log, audit);
    EXPECT_EQ(run(purges, {order("p-1", t)}), 1U);
    EXPECT_FALSE(cached(**store, "old", t + 20)) << "fetched before purge_before: destroyed";
    EXPECT_TRUE(cached(**store, "new", t + 20)) << "fetched after purge_before: kept";
    ASSERT_EQ(audited.size(), 1U);
    EXPECT_EQ(audited[0].event, "cache_purge");
    EXPECT_EQ(audited[0].action, AuditAction::del);
    EXPECT_NE(audited[0].detail.find("p-1"), std::string::npos);
    EXPECT_NE(audited[0].detail.find("1 cached"), std::string::npos);

    // The same order seen again (re-push, next tick): nothing happens.
    ASSERT_TRUE(cache(**store, "again", t - 50));
    EXPECT_EQ(run(purges, {order("p-1", t)}), 0U);
    EXPECT_TRUE(cached(**store, "again", t + 20));
  }
  // After a restart the id is still known to have run.
  auto store = open_store(dir, keys, opt);
  ASSERT_TRUE(store.ok());
  CachePurges purges(**store, log, audit);
  EXPECT_EQ(run(purges, {order("p-1", t)}), 0U);
  EXPECT_TRUE(cached(**store, "again", t + 20));
  EXPECT_EQ(audited.size(), 1U);
  // A new order id does run.
  EXPECT_EQ(run(purges, {order("p-1", t), order("p-2", t + 20)}), 1U);
  EXPECT_FALSE(cached(**store, "again", t + 20));
  EXPECT_FALSE(cached(**store, "new", t + 20));
  EXPECT_EQ(audited.size(), 2U);
}

}  // namespace
}  // namespace hiegate::daemon
