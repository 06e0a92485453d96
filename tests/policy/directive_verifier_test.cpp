#include <gtest/gtest.h>

#include <string>

#include "hiegate/policy/directives.hpp"
#include "policy/directive_kit.hpp"

namespace hiegate::policy {
namespace {

using nlohmann::json;
using testing::DirectiveKit;
using namespace std::chrono_literals;

Time at(const char* s) { return parse_rfc3339(s).value(); }

class Verifier : public ::testing::Test {
 protected:
  Verifier() {
    options.network = "nishitama";
    auto s = install_trust_anchor(kit.keyset(1), options);
    EXPECT_TRUE(s.ok());
    state = std::move(*s);
  }

  Verdict step(const std::string& envelope, const char* now = "2026-11-21T09:05:00Z") {
    Verdict v = apply(state, envelope, at(now), options);
    if (v.decision == Outcome::accept) state = *v.next;
    return v;
  }

  DirectiveKit kit;
  VerifierOptions options;
  DirectiveState state;
};

TEST_F(Verifier, ClockSkewBoundary) {
  const std::string env =
      kit.signed_orders(DirectiveKit::orders_body(1, json::array(), 1, "2026-11-21T09:05:00Z"));
  const Verdict early = step(env, "2026-11-21T08:59:59Z");  // 301 s ahead
  EXPECT_EQ(early.decision, Outcome::reject);
  EXPECT_EQ(std::string(code(early.reason)), "future");
  EXPECT_EQ(step(env, "2026-11-21T09:00:00Z").decision, Outcome::accept);  // exactly 300 s
}

TEST_F(Verifier, HeartbeatExpiresAtItsInstant) {
  const std::string body =
      DirectiveKit::heartbeat_body(1, 1, "{}", "2026-11-21T09:00:00Z", "2026-11-21T10:00:00Z");
  const std::string env = kit.signed_heartbeat(body);
  const Verdict late = step(env, "2026-11-21T10:00:00Z");
  EXPECT_EQ(std::string(code(late.reason)), "expired");
  EXPECT_EQ(step(env, "2026-11-21T09:59:59Z").decision, Outcome::accept);
}

TEST_F(Verifier, WithoutTrustAnchorNothingIsAccepted) {
  const DirectiveState empty;
  const Verdict v = apply(empty, kit.keyset(1), at("2026-11-21T09:05:00Z"), options);
  EXPECT_EQ(v.decision, Outcome::reject);
  EXPECT_EQ(std::string(code(v.reason)), "threshold");
}

TEST_F(Verifier, TrustAnchorMustBeVersionOneOfOurNetwork) {
  auto v2 = install_trust_anchor(kit.keyset(2), options);
  ASSERT_FALSE(v2.ok());
  EXPECT_EQ(v2.error().code, "invalid");
  auto orders =
      install_trust_anchor(kit.signed_orders(DirectiveKit::orders_body(1, json::array())), options);
  ASSERT_FALSE(orders.ok());
  EXPECT_EQ(orders.error().code, "type_mismatch");
  VerifierOptions other = options;
  other.network = "kitatama";
  auto wrong = install_trust_anchor(kit.keyset(1), other);
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().code, "wrong_network");
}

TEST_F(Verifier, FingerprintIgnoresSignatures) {
  const std::string body = kit.keyset_body(1);
  const std::string two =
      DirectiveKit::sign(DocumentKind::keyset, body, {&kit.root[0], &kit.root[1]});
  const std::string three =
      DirectiveKit::sign(DocumentKind::keyset, body, {&kit.root[0], &kit.root[1], &kit.root[2]});
  auto a = trust_anchor_fingerprint(two);
  auto b = trust_anchor_fingerprint(three);
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(*a, *b);
  EXPECT_EQ(*a, crypto::to_hex(crypto::sha256(body)));
  EXPECT_FALSE(trust_anchor_fingerprint("{}").ok());
}

TEST_F(Verifier, HeartbeatSequenceSurvivesRotationThatKeepsItsKeys) {
  ASSERT_EQ(step(kit.signed_heartbeat(DirectiveKit::heartbeat_body(5, 1, "{}"))).decision,
            Outcome::accept);
  // v2 changes only the orders keys.
  json b = json::parse(kit.keyset_body(2));
  b["roles"]["orders"] = DirectiveKit::role_json(DirectiveKit(100).orders, 2);
  const std::string v2 =
      DirectiveKit::sign(DocumentKind::keyset, b.dump(), {&kit.root[0], &kit.root[1]});
  ASSERT_EQ(step(v2).decision, Outcome::accept);
  EXPECT_EQ(state.sequence_floor(DocumentKind::heartbeat), 5U);
  EXPECT_EQ(state.sequence_floor(DocumentKind::orders), 0U);
  const Verdict old = step(kit.signed_heartbeat(
      DirectiveKit::heartbeat_body(4, 1, "{}", "2026-11-21T09:00:00Z", "2026-11-22T09:00:00Z", 2)));
  EXPECT_EQ(std::string(code(old.reason)), "rollback");
}

TEST_F(Verifier, StoredStateIsReverifiedUnderTheVersionItNames) {
  const std::string orders1 = DirectiveKit::orders_body(7, json::array());
  ASSERT_EQ(step(kit.signed_orders(orders1)).decision, Outcome::accept);
  ASSERT_EQ(step(kit.signed_heartbeat(DirectiveKit::heartbeat_body(3, 7, orders1))).decision,
            Outcome::accept);
  ASSERT_EQ(step(kit.keyset(2)).decision, Outcome::accept);

  // Orders and heartbeat still name version 1; the restart checks them there.
  auto restored = verify_stored(envelopes_of(state), options);
  ASSERT_TRUE(restored.ok()) << restored.error().message;
  EXPECT_EQ(restored->keyset_version(), 2U);
  EXPECT_EQ(restored->orders->value.sequence, 7U);
  EXPECT_EQ(restored->heartbeat->value.sequence, 3U);
}

TEST_F(Verifier, TamperedStoredStateFails) {
  const std::string orders1 = DirectiveKit::orders_body(7, json::array());
  ASSERT_EQ(step(kit.signed_orders(orders1)).decision, Outcome::accept);
  ASSERT_EQ(step(kit.keyset(2)).decision, Outcome::accept);
  StoredEnvelopes stored = envelopes_of(state);

  StoredEnvelopes bad = stored;
  bad.orders = kit.sign(DocumentKind::orders, orders1, {&kit.orders[0]});  // one signature only
  auto r = verify_stored(bad, options);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "threshold");

  bad = stored;
  bad.keysets.clear();
  bad.keysets.push_back(kit.keyset(3));  // gap
  r = verify_stored(bad, options);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "version_gap");

  bad = stored;
  bad.keysets.push_back(kit.keyset(2));  // repeated version
  EXPECT_FALSE(verify_stored(bad, options).ok());

  bad = stored;
  bad.orders = kit.signed_heartbeat(DirectiveKit::heartbeat_body(1, 1, "{}"));
  EXPECT_FALSE(verify_stored(bad, options).ok());

  bad = stored;
  bad.trust_anchor = "not json";
  EXPECT_FALSE(verify_stored(bad, options).ok());

  // Orders naming a version they were not signed under.
  bad = stored;
  bad.orders = kit.signed_orders(DirectiveKit::orders_body(7, json::array(), 9));
  r = verify_stored(bad, options);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "keyset_version");
}

TEST_F(Verifier, RejectionLeavesStateAndNoopIsReported) {
  const std::string env = kit.signed_orders(DirectiveKit::orders_body(2, json::array()));
  ASSERT_EQ(step(env).decision, Outcome::accept);
  const std::string stored = state.orders->envelope;
  // Same body, more signatures: still the same document.
  const std::string again =
      DirectiveKit::sign(DocumentKind::orders, DirectiveKit::orders_body(2, json::array()),
                         {&kit.orders[0], &kit.orders[1], &kit.orders[2]});
  const Verdict v = step(again);
  EXPECT_EQ(v.decision, Outcome::noop);
  EXPECT_EQ(v.sequence, 2U);
  EXPECT_EQ(v.kind, DocumentKind::orders);
  EXPECT_EQ(state.orders->envelope, stored);
  const Verdict bad = step(kit.signed_orders(DirectiveKit::orders_body(1, json::array())));
  EXPECT_EQ(std::string(code(bad.reason)), "rollback");
  EXPECT_EQ(state.orders->envelope, stored);
}

TEST(RejectReasons, CodesRoundTrip) {
  for (const char* c :
       {"malformed", "unknown_type", "threshold", "type_mismatch", "invalid", "wrong_network",
        "keyset_version", "future", "expired", "rollback", "equivocation", "version_gap"}) {
    const auto r = reject_reason_from_code(c);
    ASSERT_TRUE(r.has_value()) << c;
    EXPECT_EQ(code(*r), c);
  }
  EXPECT_FALSE(reject_reason_from_code("nope").has_value());
}

}  // namespace
}  // namespace hiegate::policy
