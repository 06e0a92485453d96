#include "hiegate/daemon/directive_service.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <string>
#include <thread>

#include "directive_fixture.hpp"
#include "policy/directive_kit.hpp"
#include "support/temp_dir.hpp"

namespace hiegate::daemon {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using policy::Outcome;
using policy::Function;
using policy::testing::DirectiveKit;

policy::Time at(const char* s) { return policy::parse_rfc3339(s).value(); }

using testing::kUs;
constexpr const char* kNow = "2026-11-21T09:05:00Z";

class DirectiveServiceTest : public ::testing::Test {
 protected:
  DirectiveServiceTest() { verifier.network = "nishitama"; }

  DirectiveService make() { return testing::make_directive_service(tmp.path(), kit, verifier); }

  test::TempDir tmp;
  DirectiveKit kit;
  policy::VerifierOptions verifier;
};

TEST_F(DirectiveServiceTest, FailsafeUntilOrdersArrive) {
  DirectiveService svc = make();
  EXPECT_TRUE(svc.snapshot()->failsafe);
  policy::OperatingMode m = svc.mode(kUs, at(kNow));
  EXPECT_TRUE(m.failsafe);
  EXPECT_TRUE(m.allows(Function::emergency));
  EXPECT_FALSE(m.allows(Function::view));

  // A heartbeat alone does not end failsafe.
  auto hb = svc.deliver(kit.signed_heartbeat(DirectiveKit::heartbeat_body(1, 1, "{}")), at(kNow));
  ASSERT_TRUE(hb.ok());
  EXPECT_EQ(hb->decision, Outcome::accept);
  EXPECT_TRUE(svc.snapshot()->failsafe);

  const std::string stop =
      DirectiveKit::orders_body(1, json::array({{{"id", "s1"},
                                                 {"action", "stop"},
                                                 {"audience", {kUs}},
                                                 {"reason", "maintenance"},
                                                 {"not_before", "2026-11-21T10:00:00Z"}}}));
  auto v = svc.deliver(kit.signed_orders(stop), at(kNow));
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->decision, Outcome::accept);
  EXPECT_FALSE(v->next.has_value());
  EXPECT_FALSE(svc.snapshot()->failsafe);
  EXPECT_TRUE(fs::exists(tmp / "directives" / "orders.json"));
  EXPECT_TRUE(svc.mode(kUs, at(kNow)).allows(Function::view));
  EXPECT_TRUE(svc.mode(kUs, at("2026-11-21T10:00:00Z")).orders.stopped());

  // A restart comes back to the same, non-failsafe state.
  DirectiveService again = make();
  EXPECT_FALSE(again.snapshot()->failsafe) << again.snapshot()->failsafe_reason;
  EXPECT_TRUE(again.mode(kUs, at("2026-11-21T10:00:00Z")).orders.stopped());
}

TEST_F(DirectiveServiceTest, RejectionsAndNoopsChangeNothing) {
  DirectiveService svc = make();
  const std::string orders = kit.signed_orders(DirectiveKit::orders_body(3, json::array()));
  ASSERT_EQ(svc.deliver(orders, at(kNow))->decision, Outcome::accept);
  const auto before = svc.snapshot();

  auto noop = svc.deliver(orders, at(kNow));
  ASSERT_TRUE(noop.ok());
  EXPECT_EQ(noop->decision, Outcome::noop);
  auto old = svc.deliver(kit.signed_orders(DirectiveKit::orders_body(2, json::array())), at(kNow));
  ASSERT_TRUE(old.ok());
  EXPECT_EQ(old->decision, Outcome::reject);
  EXPECT_EQ(std::string(policy::code(old->reason)), "rollback");
  EXPECT_EQ(svc.snapshot(), before);  // the very same snapshot
}

TEST_F(DirectiveServiceTest, PersistFailureKeepsTheOldState) {
  DirectiveService svc = make();
  const auto before = svc.snapshot();
  fs::remove_all(tmp / "directives");
  auto r = svc.deliver(kit.signed_orders(DirectiveKit::orders_body(1, json::array())), at(kNow));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "store_write_failed");
  EXPECT_EQ(svc.snapshot(), before);
  EXPECT_TRUE(svc.snapshot()->failsafe);
}

TEST_F(DirectiveServiceTest, ReadersSeeWholeSnapshotsWhileDelivering) {
  DirectiveService svc = make();
  std::atomic<bool> done{false};
  std::thread reader([&] {
    while (!done) {
      const policy::OperatingMode m = svc.mode(kUs, at(kNow));
      // Either failsafe (before the first orders) or normal: never a mix.
      EXPECT_TRUE(m.failsafe || m.allows(Function::view));
    }
  });
  for (std::uint64_t seq = 1; seq <= 20; ++seq) {
    auto v =
        svc.deliver(kit.signed_orders(DirectiveKit::orders_body(seq, json::array())), at(kNow));
    ASSERT_TRUE(v.ok());
    EXPECT_EQ(v->decision, Outcome::accept);
  }
  done = true;
  reader.join();
  EXPECT_EQ(svc.snapshot()->state.orders->value.sequence, 20U);
}

}  // namespace
}  // namespace hiegate::daemon

namespace hiegate::daemon {
namespace {

/// §4 through the service with the clock as a parameter: a heartbeat
/// withheld past stale_grace (72 h by default) enters stale_mode
/// (emergency_only); a fresh heartbeat lifts it.
TEST(DirectiveServiceStale, HeartbeatWithheldPastGraceEntersStaleMode) {
  test::TempDir tmp;
  DirectiveKit kit;
  policy::VerifierOptions verifier;
  verifier.network = "nishitama";
  DirectiveService svc = testing::make_directive_service(tmp.path(), kit, verifier);
  const std::string orders = DirectiveKit::orders_body(1, json::array());
  ASSERT_EQ(svc.deliver(kit.signed_orders(orders), at(kNow))->decision, Outcome::accept);
  ASSERT_EQ(svc.deliver(kit.signed_heartbeat(DirectiveKit::heartbeat_body(1, 1, orders)), at(kNow))->decision,
            Outcome::accept);
  EXPECT_EQ(svc.mode(kUs, at(kNow)).summary(), "normal");

  // Expired (2026-11-22T09:00Z) but within the grace: stale, still serving.
  policy::OperatingMode m = svc.mode(kUs, at("2026-11-23T09:00:00Z"));
  EXPECT_EQ(m.summary(), "stale");
  EXPECT_TRUE(m.freshness.stale);
  EXPECT_TRUE(m.allows(Function::view));

  // Past expiry + 72 h: stale_mode, emergency only.
  m = svc.mode(kUs, at("2026-11-25T09:00:01Z"));
  EXPECT_EQ(m.summary(), "stale_mode");
  EXPECT_FALSE(m.allows(Function::view));
  EXPECT_TRUE(m.allows(Function::emergency));
  // Orders never lapse by staleness, and staleness is not failsafe.
  EXPECT_FALSE(m.failsafe);

  // A fresh heartbeat ends it.
  const auto late = at("2026-11-25T10:00:00Z");
  auto v = svc.deliver(kit.signed_heartbeat(DirectiveKit::heartbeat_body(
                           2, 1, orders, "2026-11-25T09:30:00Z", "2026-11-26T09:30:00Z")),
                       late);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->decision, Outcome::accept) << v->detail;
  EXPECT_EQ(svc.mode(kUs, late).summary(), "normal");
}

/// Behind through the service: heartbeats naming orders never received keep
/// coming, and past stale_grace from the first of them the gateway is in
/// stale_mode, also after a restart; the orders arriving end it, and the
/// stretch's start is no longer kept on disk.
TEST(DirectiveServiceStale, BehindPastGraceEntersStaleModeThoughHeartbeatsAreFresh) {
  test::TempDir tmp;
  DirectiveKit kit;
  policy::VerifierOptions verifier;
  verifier.network = "nishitama";
  const std::string missing = DirectiveKit::orders_body(2, json::array());
  const fs::path start = tmp / "directives" / "heartbeat-behind.json";
  {
    DirectiveService svc = testing::make_directive_service(tmp.path(), kit, verifier);
    ASSERT_EQ(svc.deliver(kit.signed_orders(DirectiveKit::orders_body(1, json::array())), at(kNow))->decision,
              Outcome::accept);
    for (int day = 0; day < 4; ++day) {
      const std::string d = std::to_string(21 + day);
      auto v = svc.deliver(kit.signed_heartbeat(DirectiveKit::heartbeat_body(
                               static_cast<std::uint64_t>(day) + 1, 2, missing, "2026-11-" + d + "T09:00:00Z",
                               "2026-11-" + d + "T23:00:00Z")),
                           at(("2026-11-" + d + "T09:05:00Z").c_str()));
      ASSERT_EQ(v->decision, Outcome::accept) << v->detail;
      // The first heartbeat is the stretch's start and heartbeat.json alike.
      EXPECT_EQ(fs::exists(start), day > 0) << day;
    }
    EXPECT_EQ(svc.mode(kUs, at("2026-11-23T09:10:00Z")).summary(), "behind");
    EXPECT_EQ(svc.mode(kUs, at("2026-11-24T09:10:00Z")).summary(), "stale_mode");
  }
  DirectiveService svc = testing::make_directive_service(tmp.path(), kit, verifier);
  const auto m = svc.mode(kUs, at("2026-11-24T09:10:00Z"));
  EXPECT_EQ(m.summary(), "stale_mode");
  EXPECT_FALSE(m.allows(Function::view));

  ASSERT_EQ(svc.deliver(kit.signed_orders(missing), at("2026-11-24T09:20:00Z"))->decision, Outcome::accept);
  EXPECT_EQ(svc.mode(kUs, at("2026-11-24T09:30:00Z")).summary(), "normal");
  EXPECT_FALSE(fs::exists(start));
}

}  // namespace
}  // namespace hiegate::daemon
