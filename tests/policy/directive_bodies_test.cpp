#include "hiegate/policy/directive_bodies.hpp"

#include <gtest/gtest.h>

#include <string>

#include "policy/directive_kit.hpp"

namespace hiegate::policy {
namespace {

using nlohmann::json;
using testing::DirectiveKit;

json stop_order(const std::string& id = "2026-0001") {
  return {{"id", id}, {"action", "stop"}, {"audience", {"1312345678"}}, {"reason", "maintenance"}};
}

std::string orders_with(const json& order) {
  return DirectiveKit::orders_body(1, json::array({order}));
}

std::string code_of(const std::string& body) {
  auto r = parse_orders_body(body);
  return r.ok() ? "ok" : r.error().code;
}

TEST(OrdersBody, ReadsAFullOrder) {
  json o = stop_order();
  o["not_before"] = "2026-11-22T01:00:00Z";
  o["not_after"] = "2026-11-22T03:00:00Z";
  o["message"] = {{"ja", "定期保守のため停止します"}, {"en", "Stopped"}};
  auto r = parse_orders_body(orders_with(o));
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->orders.size(), 1U);
  const Order& order = r->orders[0];
  EXPECT_EQ(order.id, "2026-0001");
  EXPECT_EQ(order.action, Action::stop);
  EXPECT_EQ(order.reason, OrderReason::maintenance);
  EXPECT_TRUE(order.addresses("1312345678"));
  EXPECT_FALSE(order.addresses("1319876543"));
  ASSERT_TRUE(order.message.has_value());
  EXPECT_EQ(order.message->ja, "定期保守のため停止します");
  EXPECT_EQ(r->sequence, 1U);
  EXPECT_EQ(r->keyset_version, 1U);
}

TEST(OrdersBody, ActionSpecificMembers) {
  json restrict = stop_order();
  restrict["action"] = "restrict";
  EXPECT_EQ(code_of(orders_with(restrict)), "invalid");  // allow missing
  restrict["allow"] = {"view", "print"};
  EXPECT_EQ(code_of(orders_with(restrict)), "ok");
  restrict["allow"] = json::array();
  EXPECT_EQ(code_of(orders_with(restrict)), "invalid");
  restrict["allow"] = {"view", "teleport"};
  EXPECT_EQ(code_of(orders_with(restrict)), "invalid");

  json user = stop_order();
  user["action"] = "suspend_user";
  user["user"] = "1319876543/u0042";
  EXPECT_EQ(code_of(orders_with(user)), "ok");
  for (const char* bad :
       {"u0042", "131987654/u1", "1319876543/", "1319876543/a b", "1319876543/a/b"}) {
    user["user"] = bad;
    EXPECT_EQ(code_of(orders_with(user)), "invalid") << bad;
  }

  json fac = stop_order();
  fac["action"] = "suspend_facility";
  fac["facility"] = "1319876543";
  EXPECT_EQ(code_of(orders_with(fac)), "ok");
  fac["facility"] = "13198765430";
  EXPECT_EQ(code_of(orders_with(fac)), "invalid");

  json purge = stop_order();
  purge["action"] = "purge_cache";
  EXPECT_EQ(code_of(orders_with(purge)), "invalid");
  purge["purge_before"] = "2026-11-21T00:00:00Z";
  EXPECT_EQ(code_of(orders_with(purge)), "ok");

  json stop = stop_order();
  stop["purge_before"] = "2026-11-21T00:00:00Z";  // member of another action
  EXPECT_EQ(code_of(orders_with(stop)), "invalid");
}

TEST(OrdersBody, RangesAndFormats) {
  json o = stop_order();
  o["audience"] = "*";
  EXPECT_EQ(code_of(orders_with(o)), "ok");
  o["audience"] = "all";
  EXPECT_EQ(code_of(orders_with(o)), "invalid");
  o["audience"] = {"1312345678", 1312345678};
  EXPECT_EQ(code_of(orders_with(o)), "invalid");

  o = stop_order("../../etc/passwd");
  EXPECT_EQ(code_of(orders_with(o)), "invalid");
  o = stop_order(std::string(65, 'a'));
  EXPECT_EQ(code_of(orders_with(o)), "invalid");
  o = stop_order(std::string(64, 'a'));
  EXPECT_EQ(code_of(orders_with(o)), "ok");

  o = stop_order();
  o["not_before"] = "2026-11-22T03:00:00Z";
  o["not_after"] = "2026-11-22T03:00:00Z";
  EXPECT_EQ(code_of(orders_with(o)), "invalid");  // empty window

  std::string ja500;
  for (int i = 0; i < 500; ++i) ja500 += "停";
  o = stop_order();
  o["message"] = {{"ja", ja500}, {"en", "x"}};
  EXPECT_EQ(code_of(orders_with(o)), "ok");
  o["message"]["ja"] = ja500 + "止";
  EXPECT_EQ(code_of(orders_with(o)), "invalid");
  o["message"] = {{"ja", "x"}};
  EXPECT_EQ(code_of(orders_with(o)), "invalid");

  // Sequences are integers in [1, 2^53-1].
  const std::string base = DirectiveKit::orders_body(1, json::array());
  auto with_seq = [&](const std::string& lit) {
    std::string b = base;
    b.replace(b.find("\"sequence\":1"), 12, "\"sequence\":" + lit);
    return b;
  };
  EXPECT_EQ(code_of(with_seq("9007199254740991")), "ok");
  for (const char* bad :
       {"0", "-1", "9007199254740992", "1.0", "1e0", "\"1\"", "18446744073709551616"}) {
    EXPECT_EQ(code_of(with_seq(bad)), "invalid") << bad;
  }
}

TEST(OrdersBody, TypeAndStrictness) {
  EXPECT_EQ(code_of(R"({"type":"heartbeat"})"), "type_mismatch");
  EXPECT_EQ(code_of(R"({"network":"n"})"), "invalid");
  EXPECT_EQ(code_of(R"([1])"), "invalid");
  EXPECT_EQ(code_of(R"({"type":"orders",)"), "malformed");
  std::string extra = DirectiveKit::orders_body(1, json::array());
  extra.insert(1, R"("comment":"x",)");
  EXPECT_EQ(code_of(extra), "invalid");
}

TEST(KeysetBody, RoleRules) {
  DirectiveKit kit;
  auto ok = parse_keyset_body(kit.keyset_body(1));
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->root.threshold, 2U);
  EXPECT_EQ(ok->heartbeat.keys.size(), 1U);

  auto body = json::parse(kit.keyset_body(1));
  auto code = [](const json& b) {
    auto r = parse_keyset_body(b.dump());
    return r.ok() ? std::string("ok") : r.error().code;
  };
  json b = body;
  b["roles"].erase("heartbeat");
  EXPECT_EQ(code(b), "invalid");
  b = body;
  b["roles"]["orders"]["threshold"] = 4;
  EXPECT_EQ(code(b), "invalid");
  b = body;
  b["roles"]["orders"]["threshold"] = 0;
  EXPECT_EQ(code(b), "invalid");
  b = body;
  b["roles"]["orders"]["keys"] = json::array();
  EXPECT_EQ(code(b), "invalid");
  b = body;
  b["roles"]["orders"]["keys"].push_back(b["roles"]["orders"]["keys"][0]);
  EXPECT_EQ(code(b), "invalid");
  b = body;
  // A point of order 8 and a 31-byte key are both refused.
  b["roles"]["heartbeat"]["keys"][0] = crypto::to_base64(
      crypto::from_hex("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a").value());
  EXPECT_EQ(code(b), "invalid");
  b["roles"]["heartbeat"]["keys"][0] = crypto::to_base64(crypto::Bytes(31, 9));
  EXPECT_EQ(code(b), "invalid");
  b = body;
  b["roles"]["auditor"] = body["roles"]["root"];
  EXPECT_EQ(code(b), "invalid");
}

TEST(HeartbeatBody, Validity) {
  auto code = [](const std::string& issued, const std::string& expires) {
    auto r = parse_heartbeat_body(DirectiveKit::heartbeat_body(1, 1, "{}", issued, expires));
    return r.ok() ? std::string("ok") : r.error().code;
  };
  EXPECT_EQ(code("2026-11-21T09:00:00Z", "2026-11-28T09:00:00Z"), "ok");  // exactly 7 days
  EXPECT_EQ(code("2026-11-21T09:00:00Z", "2026-11-28T09:00:01Z"), "invalid");
  EXPECT_EQ(code("2026-11-21T09:00:00Z", "2026-11-21T09:00:00Z"), "invalid");
  EXPECT_EQ(code("2026-11-21T09:00:00Z", "2026-11-21T08:00:00Z"), "invalid");

  json hb = json::parse(DirectiveKit::heartbeat_body(1, 1, "{}"));
  hb["orders_digest"] = std::string(64, 'A');
  EXPECT_FALSE(parse_heartbeat_body(hb.dump()).ok());
  hb["orders_digest"] = std::string(62, 'a');
  EXPECT_FALSE(parse_heartbeat_body(hb.dump()).ok());
}

}  // namespace
}  // namespace hiegate::policy
