// The secretariat's directive commands end to end through the gateway's own
// verifier: keys, keysets (init, rotation), orders, signatures, heartbeat.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "hiegate/policy/directives.hpp"
#include "hiegate/policy/operating_mode.hpp"
#include "secretariat_kit.hpp"

namespace hiegate::tools::testing {
namespace {

using test::read_file;

class SecretariatDocs : public ::testing::Test {
protected:
  test::TempDir dir;
  Officers officers{dir};
  policy::VerifierOptions options = [] {
    policy::VerifierOptions o;
    o.network = "nishitama";
    return o;
  }();

  policy::DirectiveState anchor() {
    officers.keyset_v1("keyset-1.json");
    EXPECT_EQ(officers.sign_and_combine("keyset", "keyset-1.json", {"root1", "root2"}, "anchor.env"), 0);
    auto st = policy::install_trust_anchor(read_file(dir / "anchor.env"), options);
    EXPECT_TRUE(st.ok()) << (st.ok() ? "" : st.error().code + ": " + st.error().message);
    return st.ok() ? *st : policy::DirectiveState{};
  }
  policy::Verdict apply(const policy::DirectiveState& st, const std::string& env) {
    return policy::apply(st, read_file(dir / env), now(), options);
  }
  int orders(std::vector<std::string> args) {
    args.insert(args.begin(), "orders");
    return run(orders_main, args);
  }
};

TEST_F(SecretariatDocs, SecretKeyFileIsPrivateAndNeverOverwritten) {
  struct stat st {};
  ASSERT_EQ(::stat(officers.key("root1").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0400u);
  const std::string before = read_file(officers.key("root1"));
  EXPECT_EQ(run(keys_main, {"keys", "new", "--out", officers.key("root1")}), 1);
  EXPECT_EQ(read_file(officers.key("root1")), before);
  EXPECT_EQ(run(keys_main, {"keys", "pub", officers.key("root1")}), 0);
  // A key file others can read is refused for signing.
  ::chmod(officers.key("root2").c_str(), 0644);
  auto k = secretariat::read_secret_key(officers.key("root2"));
  ASSERT_FALSE(k.ok());
  EXPECT_EQ(k.error().code, "insecure_key_file");
  const auto junk = dir.write("junk.key", "hiegate-ed25519-seed-v1 AAAA\n", 0400);
  EXPECT_EQ(secretariat::read_secret_key(junk).error().code, "bad_key_file");
}

TEST_F(SecretariatDocs, TwoOfficersMeetTheRootThresholdOneDoesNot) {
  const auto st = anchor();
  EXPECT_EQ(st.keyset_version(), 1u);
  EXPECT_EQ(st.current_keyset().root.threshold, 2u);
  ASSERT_EQ(officers.sign_and_combine("keyset", "keyset-1.json", {"root1"}, "one.env"), 0);
  auto one = policy::install_trust_anchor(read_file(dir / "one.env"), options);
  ASSERT_FALSE(one.ok());
  EXPECT_EQ(one.error().code, "threshold");
}

TEST_F(SecretariatDocs, CombineRefusesForeignOrDuplicateSignatures) {
  officers.keyset_v1("keyset-1.json");
  ASSERT_EQ(run(sign_main, {"sign", "--key", officers.key("root1"), "--type", "keyset",
                            officers.path("keyset-1.json"), "--out", officers.path("a.sig")}),
            0);
  dir.write("keyset-edited.json", read_file(dir / "keyset-1.json") + " ");
  EXPECT_EQ(run(combine_main, {"combine", "--type", "keyset", officers.path("keyset-edited.json"),
                               officers.path("a.sig"), "--out", officers.path("x.env")}),
            1);
  EXPECT_EQ(run(combine_main, {"combine", "--type", "orders", officers.path("keyset-1.json"),
                               officers.path("a.sig"), "--out", officers.path("x.env")}),
            1);
  EXPECT_EQ(run(combine_main, {"combine", "--type", "keyset", officers.path("keyset-1.json"),
                               officers.path("a.sig"), officers.path("a.sig"), "--out",
                               officers.path("x.env")}),
            1);
  EXPECT_FALSE(std::filesystem::exists(dir / "x.env"));
}

TEST_F(SecretariatDocs, KeysetInitRefusesBadThresholdsAndKeys) {
  EXPECT_EQ(run(keyset_main, {"keyset", "init", "--network", "nishitama", "--root", officers.pub("root1"),
                              "--root-threshold", "2", "--orders", officers.pub("orders1"),
                              "--orders-threshold", "1", "--heartbeat", officers.pub("heartbeat1"),
                              "--heartbeat-threshold", "1", "--out", officers.path("k.json")}),
            2);
  EXPECT_EQ(run(keyset_main, {"keyset", "init", "--network", "nishitama", "--root", officers.pub("root1"),
                              "--root", officers.pub("root1"), "--root-threshold", "1", "--orders",
                              officers.pub("orders1"), "--orders-threshold", "1", "--heartbeat",
                              officers.pub("heartbeat1"), "--heartbeat-threshold", "1", "--out",
                              officers.path("k.json")}),
            1);  // a key listed twice: the body reader refuses it
  EXPECT_EQ(run(keyset_main, {"keyset", "init", "--network", "nishitama", "--root",
                              std::string(44, 'A'), "--root-threshold", "1", "--orders",
                              officers.pub("orders1"), "--orders-threshold", "1", "--heartbeat",
                              officers.pub("heartbeat1"), "--heartbeat-threshold", "1", "--out",
                              officers.path("k.json")}),
            1);  // the all-zero key
  EXPECT_FALSE(std::filesystem::exists(dir / "k.json"));
}

TEST_F(SecretariatDocs, RotationSignedByOldAndNewRootsIsAccepted) {
  const auto st = anchor();
  ASSERT_EQ(run(keyset_main, {"keyset", "rotate", "--from", officers.path("keyset-1.json"), "--root",
                              officers.pub("root3"), "--root", officers.pub("root4"),
                              "--root-threshold", "2", "--out", officers.path("keyset-2.json")}),
            0);
  auto body = policy::parse_keyset_body(read_file(dir / "keyset-2.json"));
  ASSERT_TRUE(body.ok());
  EXPECT_EQ(body->version, 2u);
  EXPECT_EQ(body->orders, st.current_keyset().orders);  // untouched roles carried over

  ASSERT_EQ(officers.sign_and_combine("keyset", "keyset-2.json", {"root1", "root2"}, "old.env"), 0);
  const auto old_only = apply(st, "old.env");
  EXPECT_TRUE(old_only.rejected());
  EXPECT_EQ(old_only.reason, policy::RejectReason::threshold);

  ASSERT_EQ(officers.sign_and_combine("keyset", "keyset-2.json", {"root1", "root2", "root3", "root4"},
                                      "both.env"),
            0);
  const auto v = apply(st, "both.env");
  ASSERT_EQ(v.decision, policy::Outcome::accept) << v.detail;
  EXPECT_EQ(v.next->keyset_version(), 2u);
}

TEST_F(SecretariatDocs, OrdersStopOneFacilityThenHeartbeat) {
  const auto st = anchor();
  ASSERT_EQ(orders({"new", "--network", "nishitama", "--keyset-version", "1", "--out",
                    officers.path("orders.json")}),
            0);
  ASSERT_EQ(orders({"add", "stop", "--id", "2026-0042", "--audience", "1300000001", "--reason",
                    "maintenance", "--not-after", "2099-01-01T00:00:00Z", "--message-ja",
                    "定期保守のため停止します", "--message-en", "Stopped for maintenance",
                    officers.path("orders.json")}),
            0);
  const std::string before = read_file(dir / "orders.json");
  // Refused edits leave the file as it was.
  EXPECT_EQ(orders({"add", "restrict", "--id", "r1", "--audience", "*", "--reason", "failure",
                    officers.path("orders.json")}),
            1);  // restrict without --allow
  EXPECT_EQ(orders({"add", "stop", "--id", "2026-0042", "--audience", "*", "--reason", "failure",
                    officers.path("orders.json")}),
            1);  // duplicate id
  EXPECT_EQ(orders({"add", "stop", "--id", "s2", "--audience", "*", "--reason", "failure",
                    "--user", "1300000001/u1", officers.path("orders.json")}),
            1);  // a member of another action
  EXPECT_EQ(orders({"add", "halt", "--id", "h", "--audience", "*", "--reason", "failure",
                    officers.path("orders.json")}),
            2);
  EXPECT_EQ(read_file(dir / "orders.json"), before);

  ASSERT_EQ(officers.sign_and_combine("orders", "orders.json", {"orders1", "orders2"}, "orders.env"), 0);
  const auto v = apply(st, "orders.env");
  ASSERT_EQ(v.decision, policy::Outcome::accept) << v.detail;
  const auto* set = &v.next->orders->value;
  EXPECT_EQ(set->sequence, 1u);
  EXPECT_TRUE(policy::orders_effect(set, "1300000001", now()).stopped());
  EXPECT_FALSE(policy::orders_effect(set, "1300000002", now()).stopped());
  ASSERT_EQ(policy::orders_effect(set, "1300000001", now()).stopped_by[0].message->ja,
            "定期保守のため停止します");

  ASSERT_EQ(run(heartbeat_main, {"heartbeat", "--key", officers.key("heartbeat1"), "--network",
                                 "nishitama", "--keyset-version", "1", "--sequence", "7", "--orders",
                                 officers.path("orders.json"), "--valid-for", "24h", "--out",
                                 officers.path("hb.env")}),
            0);
  const auto hb = apply(*v.next, "hb.env");
  ASSERT_EQ(hb.decision, policy::Outcome::accept) << hb.detail;
  const auto fresh = policy::freshness(*hb.next, now(), {});
  EXPECT_FALSE(fresh.stale);
  EXPECT_FALSE(fresh.behind);

  // The next set starts from this one: sequence 2, the stop lifted by removal.
  ASSERT_EQ(orders({"new", "--network", "nishitama", "--keyset-version", "1", "--from",
                    officers.path("orders.json"), "--out", officers.path("orders-2.json")}),
            0);
  ASSERT_EQ(orders({"remove", "2026-0042", officers.path("orders-2.json")}), 0);
  EXPECT_EQ(orders({"remove", "2026-0042", officers.path("orders-2.json")}), 1);
  auto next = policy::parse_orders_body(read_file(dir / "orders-2.json"));
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->sequence, 2u);
  EXPECT_TRUE(next->orders.empty());
  // A single orders officer is below the threshold.
  ASSERT_EQ(officers.sign_and_combine("orders", "orders-2.json", {"orders1"}, "orders-2.env"), 0);
  EXPECT_EQ(apply(*hb.next, "orders-2.env").reason, policy::RejectReason::threshold);
}

TEST_F(SecretariatDocs, EveryActionRoundTrips) {
  ASSERT_EQ(orders({"new", "--network", "nishitama", "--keyset-version", "3", "--sequence", "9",
                    "--out", officers.path("o.json")}),
            0);
  const std::string p = officers.path("o.json");
  EXPECT_EQ(orders({"add", "restrict", "--id", "r", "--audience", "1300000001,1300000002",
                    "--reason", "equipment", "--allow", "view,serve", p}), 0);
  EXPECT_EQ(orders({"add", "disaster", "--id", "d", "--audience", "*", "--reason", "disaster", p}), 0);
  EXPECT_EQ(orders({"add", "suspend-user", "--id", "u", "--audience", "*", "--reason", "violation",
                    "--user", "1300000001/doc7", p}), 0);
  EXPECT_EQ(orders({"add", "suspend-facility", "--id", "f", "--audience", "*", "--reason",
                    "management", "--facility", "1300000002", p}), 0);
  EXPECT_EQ(orders({"add", "purge-cache", "--id", "c", "--audience", "*", "--reason",
                    "data-recovery", "--purge-before", "2026-11-20T00:00:00Z", p}), 0);
  auto set = policy::parse_orders_body(read_file(p));
  ASSERT_TRUE(set.ok());
  EXPECT_EQ(set->sequence, 9u);
  EXPECT_EQ(set->keyset_version, 3u);
  ASSERT_EQ(set->orders.size(), 5u);
  EXPECT_TRUE(set->orders[0].allow.contains(policy::Function::serve));
  EXPECT_FALSE(set->orders[0].allow.contains(policy::Function::export_));
  EXPECT_EQ(set->orders[2].user, "1300000001/doc7");
  EXPECT_EQ(set->orders[3].facility, "1300000002");
  EXPECT_EQ(set->orders[4].reason, policy::OrderReason::data_recovery);
}

TEST(SecretariatHeartbeat, RefusesForeignOrdersAndOverlongValidity) {
  policy::OrderSet set;
  set.network = "other";
  set.keyset_version = 1;
  set.sequence = 4;
  set.issued_at = now();
  const auto body = secretariat::orders_body(set);
  ASSERT_TRUE(body.ok());
  EXPECT_EQ(secretariat::heartbeat_for("nishitama", 1, 1, *body, now(), std::chrono::hours(24))
                .error()
                .code,
            "wrong_network");
  EXPECT_EQ(secretariat::heartbeat_for("other", 1, 1, *body, now(), std::chrono::hours(24 * 8))
                .error()
                .code,
            "invalid");
  auto hb = secretariat::heartbeat_for("other", 1, 1, *body, now(), std::chrono::hours(24));
  ASSERT_TRUE(hb.ok());
  EXPECT_EQ(policy::parse_heartbeat_body(*hb)->orders_sequence, 4u);
}

TEST(SecretariatDuration, Parses) {
  EXPECT_EQ(*secretariat::parse_duration("24h"), std::chrono::hours(24));
  EXPECT_EQ(*secretariat::parse_duration("7d"), std::chrono::hours(168));
  EXPECT_EQ(*secretariat::parse_duration("90s"), std::chrono::seconds(90));
  for (const char* bad : {"", "h", "0h", "5", "5w", "-1h", "1.5h", "99999999999h"})
    EXPECT_FALSE(secretariat::parse_duration(bad).ok()) << bad;
}

}  // namespace
}  // namespace hiegate::tools::testing
