#include "hiegate/policy/operating_mode.hpp"

#include <gtest/gtest.h>

#include <string>

#include "policy/directive_kit.hpp"

namespace hiegate::policy {
namespace {

using nlohmann::json;
using testing::DirectiveKit;
using namespace std::chrono_literals;

constexpr const char* kUs = "1312345678";
constexpr const char* kThem = "1319876543";

Time at(const char* s) { return parse_rfc3339(s).value(); }

OrderSet orders_of(const json& list) {
  auto r = parse_orders_body(DirectiveKit::orders_body(1, list));
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() ? *r : OrderSet{};
}

json order(const std::string& id, const std::string& action, json audience = "*") {
  return {
      {"id", id}, {"action", action}, {"audience", std::move(audience)}, {"reason", "management"}};
}

FunctionSet set_of(std::initializer_list<Function> fs) {
  FunctionSet s;
  for (Function f : fs) s.insert(f);
  return s;
}

TEST(OrdersEffect, NoOrdersMeansNormalOperation) {
  const OrdersEffect e = orders_effect(nullptr, kUs, at("2026-11-21T09:00:00Z"));
  EXPECT_EQ(e.allowed, FunctionSet::all());
  EXPECT_FALSE(e.stopped());
  EXPECT_FALSE(e.disaster);
}

TEST(OrdersEffect, WindowIsHalfOpen) {
  json stop = order("s1", "stop", {kUs});
  stop["not_before"] = "2026-11-21T10:00:00Z";
  stop["not_after"] = "2026-11-21T11:00:00Z";
  const OrderSet set = orders_of(json::array({stop}));
  EXPECT_FALSE(orders_effect(&set, kUs, at("2026-11-21T09:59:59Z")).stopped());
  EXPECT_TRUE(orders_effect(&set, kUs, at("2026-11-21T10:00:00Z")).stopped());
  EXPECT_TRUE(orders_effect(&set, kUs, at("2026-11-21T10:59:59Z")).stopped());
  EXPECT_FALSE(orders_effect(&set, kUs, at("2026-11-21T11:00:00Z")).stopped());
  EXPECT_FALSE(orders_effect(&set, kThem, at("2026-11-21T10:30:00Z")).stopped());
}

TEST(OrdersEffect, RestrictsIntersectAndRespectAudience) {
  json r1 = order("r1", "restrict");
  r1["allow"] = {"view", "emergency", "serve", "export"};
  json r2 = order("r2", "restrict", {kUs});
  r2["allow"] = {"emergency", "serve", "print"};
  json r3 = order("r3", "restrict", {kUs});
  r3["allow"] = {"serve", "emergency", "publish"};
  r3["not_before"] = "2026-11-22T00:00:00Z";
  json r4 = order("r4", "restrict", {kThem});
  r4["allow"] = {"print"};
  const OrderSet set = orders_of(json::array({r1, r2, r3, r4}));
  EXPECT_EQ(orders_effect(&set, kUs, at("2026-11-21T09:00:00Z")).allowed,
            set_of({Function::emergency, Function::serve}));
  EXPECT_EQ(orders_effect(&set, kUs, at("2026-11-22T09:00:00Z")).allowed,
            set_of({Function::emergency, Function::serve}));
  EXPECT_EQ(orders_effect(&set, kThem, at("2026-11-21T09:00:00Z")).allowed, FunctionSet::none());
  // Disjoint restricts leave nothing, without being a stop.
  json r5 = order("r5", "restrict", {kUs});
  r5["allow"] = {"print"};
  const OrderSet disjoint = orders_of(json::array({r1, r5}));
  const OrdersEffect e = orders_effect(&disjoint, kUs, at("2026-11-21T09:00:00Z"));
  EXPECT_TRUE(e.allowed.empty());
  EXPECT_FALSE(e.stopped());
}

TEST(OrdersEffect, SuspendingOurOwnFacilityStopsUs) {
  json f = order("f1", "suspend_facility");
  f["facility"] = kUs;
  f["message"] = {{"ja", "利用停止"}, {"en", "Suspended"}};
  const OrderSet set = orders_of(json::array({f}));
  const OrdersEffect ours = orders_effect(&set, kUs, at("2026-11-21T09:00:00Z"));
  ASSERT_TRUE(ours.stopped());
  EXPECT_EQ(ours.stopped_by[0].order_id, "f1");
  EXPECT_EQ(ours.stopped_by[0].action, Action::suspend_facility);
  EXPECT_EQ(ours.stopped_by[0].reason, OrderReason::management);
  ASSERT_TRUE(ours.stopped_by[0].message.has_value());
  EXPECT_EQ(ours.stopped_by[0].message->ja, "利用停止");
  EXPECT_TRUE(ours.allowed.empty());
  // Elsewhere: not stopped, but that facility's requests are refused.
  const OrdersEffect theirs = orders_effect(&set, kThem, at("2026-11-21T09:00:00Z"));
  EXPECT_FALSE(theirs.stopped());
  EXPECT_TRUE(theirs.facility_suspended(kUs));
  EXPECT_FALSE(theirs.facility_suspended(kThem));
}

TEST(OrdersEffect, UsersDisasterAndPurges) {
  json u1 = order("u1", "suspend_user");
  u1["user"] = "1319876543/u0042";
  json u2 = order("u2", "suspend_user", {kUs});
  u2["user"] = "1319876543/u0042";
  json d = order("d1", "disaster", {kThem});
  json p = order("p1", "purge_cache");
  p["purge_before"] = "2026-11-20T00:00:00Z";
  const OrderSet set = orders_of(json::array({u1, u2, d, p}));
  const OrdersEffect e = orders_effect(&set, kUs, at("2026-11-21T09:00:00Z"));
  EXPECT_EQ(e.suspended_users, std::vector<std::string>{"1319876543/u0042"});
  EXPECT_TRUE(e.user_suspended("1319876543/u0042"));
  EXPECT_FALSE(e.user_suspended("1319876543/u0043"));
  EXPECT_FALSE(e.disaster);  // not in that order's audience
  EXPECT_TRUE(orders_effect(&set, kThem, at("2026-11-21T09:00:00Z")).disaster);
  ASSERT_EQ(e.purges.size(), 1U);
  EXPECT_EQ(e.purges[0].order_id, "p1");
  EXPECT_EQ(e.purges[0].purge_before, at("2026-11-20T00:00:00Z"));
  EXPECT_EQ(e.allowed, FunctionSet::all());
}

class FreshnessTest : public ::testing::Test {
 protected:
  FreshnessTest() {
    options.network = "nishitama";
    state = install_trust_anchor(kit.keyset(1), options).value();  // issued 2026-11-21T08:00:00Z
  }
  void accept(const std::string& env, const char* now = "2026-11-21T09:05:00Z") {
    Verdict v = apply(state, env, at(now), options);
    ASSERT_EQ(v.decision, Outcome::accept) << v.detail;
    state = *v.next;
  }

  DirectiveKit kit;
  VerifierOptions options;
  FreshnessOptions fresh;
  DirectiveState state;
};

TEST_F(FreshnessTest, NoHeartbeatIsStaleFromTheKeyset) {
  const Freshness f = freshness(state, at("2026-11-21T09:00:00Z"), fresh);
  EXPECT_TRUE(f.stale);
  EXPECT_FALSE(f.grace_over);
  EXPECT_EQ(f.stale_since, at("2026-11-21T08:00:00Z"));
  const OperatingMode later = effective_mode(state, kUs, at("2026-11-24T08:00:00Z"), fresh);
  EXPECT_TRUE(later.freshness.grace_over);
  EXPECT_EQ(later.allowed, set_of({Function::emergency}));
  EXPECT_EQ(later.summary(), "stale_mode");
}

TEST_F(FreshnessTest, HeartbeatKeepsItFreshUntilExpiryPlusGrace) {
  const std::string orders = DirectiveKit::orders_body(1, json::array());
  accept(kit.signed_orders(orders));
  accept(kit.signed_heartbeat(DirectiveKit::heartbeat_body(1, 1, orders)));  // expires 22T09:00
  OperatingMode m = effective_mode(state, kUs, at("2026-11-22T08:59:59Z"), fresh);
  EXPECT_FALSE(m.freshness.stale);
  EXPECT_FALSE(m.freshness.behind);
  EXPECT_EQ(m.allowed, FunctionSet::all());
  EXPECT_EQ(m.summary(), "normal");

  m = effective_mode(state, kUs, at("2026-11-22T09:00:00Z"), fresh);
  EXPECT_TRUE(m.freshness.stale);
  EXPECT_FALSE(m.freshness.grace_over);
  EXPECT_EQ(m.allowed, FunctionSet::all());  // alert only during the grace
  EXPECT_EQ(m.summary(), "stale");

  m = effective_mode(state, kUs, at("2026-11-25T09:00:00Z"), fresh);  // +72 h
  EXPECT_TRUE(m.freshness.grace_over);
  EXPECT_EQ(m.freshness.fallback, FallbackMode::emergency_only);
  EXPECT_EQ(m.allowed, set_of({Function::emergency}));

  fresh.stale_mode = FallbackMode::stop;
  EXPECT_TRUE(effective_mode(state, kUs, at("2026-11-25T09:00:00Z"), fresh).allowed.empty());
  fresh.stale_mode = FallbackMode::keep;
  EXPECT_EQ(effective_mode(state, kUs, at("2026-11-25T09:00:00Z"), fresh).allowed,
            FunctionSet::all());
}

TEST_F(FreshnessTest, BehindWhenTheHeartbeatNamesNewerOrders) {
  const std::string orders = DirectiveKit::orders_body(1, json::array());
  accept(kit.signed_orders(orders));
  const std::string newer = DirectiveKit::orders_body(2, json::array());
  accept(kit.signed_heartbeat(
      DirectiveKit::heartbeat_body(1, 2, newer, "2026-11-21T09:00:00Z", "2026-11-28T09:00:00Z")));
  Freshness f = freshness(state, at("2026-11-21T10:00:00Z"), fresh);
  EXPECT_TRUE(f.behind);
  EXPECT_FALSE(f.stale);
  EXPECT_FALSE(f.grace_over);
  f = freshness(state, at("2026-11-24T09:00:00Z"), fresh);  // behind for 72 h
  EXPECT_TRUE(f.grace_over);
  accept(kit.signed_orders(newer));
  EXPECT_FALSE(freshness(state, at("2026-11-24T09:00:00Z"), fresh).behind);
}

// Daily heartbeats that keep naming orders this gateway never receives do
// not restart the grace: it counts from the first of them (§4, "also after
// stale_grace in behind"), across a restart, until the orders arrive.
TEST_F(FreshnessTest, BehindCountsFromTheFirstHeartbeatThatNamedTheMissingOrders) {
  accept(kit.signed_orders(DirectiveKit::orders_body(1, json::array())));
  const std::string second = DirectiveKit::orders_body(2, json::array({order("s1", "stop", {kUs})}));
  const std::string third = DirectiveKit::orders_body(3, json::array());
  std::uint64_t seq = 1;
  for (const char* day : {"21", "22", "23", "24"}) {
    const std::string issued = std::string("2026-11-") + day + "T09:00:00Z";
    const std::string expires = std::string("2026-11-") + day + "T23:00:00Z";
    // The third day names an even newer set: still the same stretch.
    const bool newer = std::string(day) >= "23";
    accept(kit.signed_heartbeat(DirectiveKit::heartbeat_body(seq, newer ? 3 : 2, newer ? third : second, issued,
                                                             expires)),
           (std::string("2026-11-") + day + "T09:05:00Z").c_str());
    ++seq;
  }
  ASSERT_TRUE(state.behind_from.has_value());
  Freshness f = freshness(state, at("2026-11-24T09:10:00Z"), fresh);
  EXPECT_TRUE(f.behind);
  EXPECT_FALSE(f.stale);  // the last heartbeat is fresh
  EXPECT_EQ(f.behind_since, at("2026-11-21T09:00:00Z"));
  EXPECT_TRUE(f.grace_over);  // behind for 72 h, though heard from daily
  EXPECT_EQ(effective_mode(state, kUs, at("2026-11-24T09:10:00Z"), fresh).summary(), "stale_mode");

  // A restart keeps the start of the stretch: its heartbeat is stored too.
  const StoredEnvelopes stored = envelopes_of(state);
  ASSERT_TRUE(stored.behind_from.has_value());
  auto restarted = verify_stored(stored, options);
  ASSERT_TRUE(restarted.ok()) << restarted.error().message;
  EXPECT_EQ(freshness(*restarted, at("2026-11-24T09:10:00Z"), fresh).behind_since, at("2026-11-21T09:00:00Z"));
  // A stored start that does not verify, or is not earlier, is ignored:
  // the stretch then counts from the stored heartbeat.
  for (const std::string& odd : {std::string("{}"), *stored.heartbeat}) {
    StoredEnvelopes other = stored;
    other.behind_from = odd;
    auto restored = verify_stored(other, options);
    ASSERT_TRUE(restored.ok());
    EXPECT_EQ(freshness(*restored, at("2026-11-24T09:10:00Z"), fresh).behind_since, at("2026-11-24T09:00:00Z"));
  }

  // Caught up: the stretch ends; a later one starts from its own heartbeat.
  accept(kit.signed_orders(third), "2026-11-24T10:00:00Z");
  EXPECT_FALSE(state.behind_from.has_value());
  EXPECT_FALSE(envelopes_of(state).behind_from.has_value());
  EXPECT_FALSE(freshness(state, at("2026-11-24T10:00:00Z"), fresh).behind);
  const std::string fourth = DirectiveKit::orders_body(4, json::array());
  accept(kit.signed_heartbeat(DirectiveKit::heartbeat_body(seq, 4, fourth, "2026-11-25T09:00:00Z",
                                                           "2026-11-25T23:00:00Z")),
         "2026-11-25T09:05:00Z");
  f = freshness(state, at("2026-11-25T09:10:00Z"), fresh);
  EXPECT_TRUE(f.behind);
  EXPECT_EQ(f.behind_since, at("2026-11-25T09:00:00Z"));
  EXPECT_FALSE(f.grace_over);
}

TEST_F(FreshnessTest, BehindWhenTheDigestDiffers) {
  accept(kit.signed_orders(DirectiveKit::orders_body(1, json::array())));
  const std::string other = DirectiveKit::orders_body(1, json::array({order("s1", "stop")}));
  accept(kit.signed_heartbeat(DirectiveKit::heartbeat_body(1, 1, other)));
  EXPECT_TRUE(freshness(state, at("2026-11-21T10:00:00Z"), fresh).behind);
}

TEST_F(FreshnessTest, OrdersDoNotLapseByStaleness) {
  const std::string orders =
      DirectiveKit::orders_body(1, json::array({order("s1", "stop", {kUs})}));
  accept(kit.signed_orders(orders));
  fresh.stale_mode = FallbackMode::keep;
  const OperatingMode m = effective_mode(state, kUs, at("2027-01-01T00:00:00Z"), fresh);
  EXPECT_TRUE(m.freshness.grace_over);
  EXPECT_TRUE(m.orders.stopped());
  EXPECT_TRUE(m.allowed.empty());
  EXPECT_EQ(m.summary(), "stopped");
}

TEST(FailsafeMode, DefaultsToEmergencyOnly) {
  FreshnessOptions o;
  OperatingMode m = failsafe_mode(o);
  EXPECT_TRUE(m.failsafe);
  EXPECT_EQ(m.allowed, set_of({Function::emergency}));
  EXPECT_EQ(m.summary(), "failsafe");
  o.failsafe_mode = FallbackMode::stop;
  EXPECT_TRUE(failsafe_mode(o).allowed.empty());
  EXPECT_EQ(parse_fallback_mode("emergency_only"), FallbackMode::emergency_only);
  EXPECT_EQ(parse_fallback_mode("keep"), FallbackMode::keep);
  EXPECT_FALSE(parse_fallback_mode("off").has_value());
}

}  // namespace
}  // namespace hiegate::policy
