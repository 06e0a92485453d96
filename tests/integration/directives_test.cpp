// Secretariat orders on real hiegated processes: a stop survives a restart,
// damaged stored state starts in failsafe, and `hiegate-secretariat push`
// brings gateways of different audiences into their own modes.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <nlohmann/json.hpp>

#include "integration/live_orders.hpp"

namespace hiegate::test {
namespace {

using nlohmann::json;

constexpr const char* kC = "1300000003";

json status_of(const Gateway& gw) {
  const auto r = gw.get("/v1/status");
  EXPECT_EQ(r.status, 200) << r.body;
  return json::parse(r.body, nullptr, false);
}

/// A publish attempt, refused by a stop before anything else is looked at.
void expect_stopped_by(const Gateway& gw, const std::string& order_id) {
  const auto r = gw.call("PUT", "/v1/documents/doc-1", {{"X-HIE-User", "clerk-1"}}, "{}");
  EXPECT_EQ(r.status, 503) << r.body;
  const json e = json::parse(r.body, nullptr, false)["error"];
  EXPECT_EQ(e["code"], "network_stopped") << r.body;
  EXPECT_EQ(e["order"], order_id) << r.body;
  EXPECT_EQ(e["reason"], "maintenance") << r.body;
  EXPECT_EQ(e["localized"]["ja"], "定期保守のため停止します") << r.body;
  EXPECT_EQ(e["localized"]["en"], "Stopped for scheduled maintenance") << r.body;
}

class Directives : public DirectiveNetwork {
protected:
  /// A and B running, with the empty orders set delivered; deliver(seq,
  /// list) pushes the next signed set to both.
  void start_a_and_b() {
    std::map<std::string, std::uint16_t> ports;
    for (const char* f : kFacilities) ports[f] = free_port();
    a_ = make(kA, ports);
    b_ = make(kB, ports);
    running_ = {{kA, ports[kA]}, {kB, ports[kB]}};
    deliver(1, json::array());
  }
  void deliver(std::uint64_t seq, const json& list) {
    const auto [o, h] = orders_.signed_set(seq, list);
    const auto r = push(running_, {o, h});
    ASSERT_EQ(r.status, 0) << r.output;
  }
  /// Document `id` of `patient`, of `type`, published at B by clerk-1.
  void publish_at_b(const std::string& id, const std::string& patient, const std::string& type) {
    ASSERT_EQ(b_->put_user("clerk-1", R"({"role":"clerk"})").status, 200);
    const json doc = {{"patient", patient}, {"type", type}, {"title", "t"}, {"created", "2026-11-01T09:00:00Z"},
                      {"content_type", "text/plain"}, {"content_base64", "aGVsbG8="}};
    ASSERT_EQ(b_->call("PUT", "/v1/documents/" + id, {{"X-HIE-User", "clerk-1"}}, doc.dump()).status, 200);
  }
  std::unique_ptr<Gateway> a_, b_;
  std::map<std::string, std::uint16_t> running_;
};

TEST_F(Directives, AStopOrderHoldsAcrossARestart) {
  Gateway gw("", directives_section());
  gw.start();
  const std::string set =
      orders_.delivery(1, json::array({LiveOrders::stop("2026-0042", json::array({gw.facility()}))}));
  const auto r = gw.call("POST", "/v1/directives", {}, set);
  ASSERT_EQ(r.status, 200) << r.body;
  expect_stopped_by(gw, "2026-0042");

  ASSERT_EQ(gw.stop(), 0);
  gw.start();
  const json s = status_of(gw);
  EXPECT_EQ(s["mode"]["state"], "stopped") << s.dump();
  ASSERT_EQ(s["mode"]["stopped_by"].size(), 1U) << s.dump();
  EXPECT_EQ(s["mode"]["stopped_by"][0]["id"], "2026-0042");
  EXPECT_EQ(s["directives"]["orders_sequence"], 1);
  EXPECT_EQ(s["directives"]["failsafe"], false);
  expect_stopped_by(gw, "2026-0042");
  // Directives keep working while stopped: the same set again is a no-op.
  const auto again = gw.call("POST", "/v1/directives", {}, set);
  EXPECT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(json::parse(again.body, nullptr, false)["mode"], "stopped") << again.body;
}

/// Starts `gw` after `damage` was done to its stored orders: failsafe, in the
/// status, the metrics and a critical log line.
void expect_failsafe_after(Gateway& gw, const LiveOrders& orders,
                           const std::function<void(const std::filesystem::path&)>& damage) {
  gw.start();
  ASSERT_EQ(gw.call("POST", "/v1/directives", {}, orders.delivery(1, json::array())).status, 200);
  EXPECT_EQ(status_of(gw)["mode"]["state"], "normal");
  ASSERT_EQ(gw.stop(), 0);
  const auto file = gw.dir() / "state" / "directives" / "orders.json";
  ASSERT_TRUE(std::filesystem::exists(file));
  damage(file);

  gw.start();
  const json s = status_of(gw);
  EXPECT_EQ(s["mode"]["state"], "failsafe") << s.dump();
  EXPECT_EQ(s["mode"]["failsafe"], true) << s.dump();
  EXPECT_EQ(s["directives"]["failsafe"], true) << s.dump();
  EXPECT_FALSE(s["directives"].value("failsafe_reason", "").empty()) << s.dump();
  // The default failsafe mode is emergency_only: publishing is refused.
  EXPECT_EQ(gw.call("PUT", "/v1/documents/doc-1", {{"X-HIE-User", "clerk-1"}}, "{}").status, 403);
  const auto m = gw.get("/metrics");
  ASSERT_EQ(m.status, 200);
  EXPECT_NE(m.body.find("hiegate_directives_failsafe 1"), std::string::npos) << m.body;
  EXPECT_NE(m.body.find("hiegate_mode{state=\"failsafe\"} 1"), std::string::npos) << m.body;
  EXPECT_NE(gw.log().find("FAILSAFE MODE"), std::string::npos) << gw.log();
}

/// Log lines of `event` for alert `name` (stderr format: `event: message KEY="value"`).
int alert_lines(const Gateway& gw, const std::string& event, const std::string& name) {
  std::istringstream in(gw.log());
  int n = 0;
  for (std::string line; std::getline(in, line);)
    n += line.find(event + ": ") != std::string::npos && line.find("ALERT=\"" + name + "\"") != std::string::npos;
  return n;
}

// The secretariat falling silent is an alert at once (spec §4), logged once
// when it starts and once when it ends, not at every check: no heartbeat
// yet, then one (cleared), then that one expiring (raised again).
TEST_F(Directives, AlertsWhenTheSecretariatFallsSilentAndWhenItIsBackOnce) {
  Gateway gw("", directives_section());
  gw.start();
  ASSERT_TRUE(eventually([&] { return alert_lines(gw, "alert_raised", "directives_stale") == 1; })) << gw.log();
  const auto now = std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
  orders_.expires = policy::format_rfc3339(now + std::chrono::seconds(3));
  ASSERT_EQ(gw.call("POST", "/v1/directives", {}, orders_.delivery(1, json::array())).status, 200);
  ASSERT_TRUE(eventually([&] { return alert_lines(gw, "alert_cleared", "directives_stale") == 1; })) << gw.log();
  ASSERT_TRUE(eventually([&] { return alert_lines(gw, "alert_raised", "directives_stale") == 2; })) << gw.log();
  EXPECT_EQ(alert_lines(gw, "alert_cleared", "directives_stale"), 1);
  EXPECT_EQ(alert_lines(gw, "alert_raised", "directives_behind"), 0);
}

TEST_F(Directives, TruncatedStoredOrdersStartInFailsafe) {
  Gateway gw("", directives_section());
  expect_failsafe_after(gw, orders_, [](const std::filesystem::path& f) {
    std::filesystem::resize_file(f, std::filesystem::file_size(f) / 2);
  });
}

TEST_F(Directives, CorruptedStoredOrdersStartInFailsafe) {
  Gateway gw("", directives_section());
  expect_failsafe_after(gw, orders_, [](const std::filesystem::path& f) {
    std::string bytes = read_file(f);
    const auto at = bytes.find("\"payload\":\"") + 20;  // inside the signed payload
    ASSERT_LT(at, bytes.size());
    bytes[at] = bytes[at] == 'A' ? 'B' : 'A';
    std::ofstream(f, std::ios::binary | std::ios::trunc) << bytes;
  });
}

TEST_F(Directives, PushReachesThreeAudiences) {
  std::map<std::string, std::uint16_t> ports;
  for (const char* f : kFacilities) ports[f] = free_port();
  auto a = make(kA, ports);
  auto b = make(kB, ports);
  auto c = make(kC, ports);
  const json list = json::array(
      {LiveOrders::stop("2026-0042", json::array({kA})),
       {{"id", "2026-0043"}, {"action", "restrict"}, {"audience", json::array({kB})}, {"reason", "equipment"},
        {"allow", json::array({"view", "emergency"})}},
       {{"id", "2026-0044"}, {"action", "suspend_user"}, {"audience", json::array({kA, kB})}, {"reason", "violation"},
        {"user", std::string(kC) + "/dr-x"}}});
  const auto [o, h] = orders_.signed_set(1, list);
  const auto r = push(ports, {o, h});
  ASSERT_EQ(r.status, 0) << r.output;

  const json sa = status_of(*a);
  EXPECT_EQ(sa["mode"]["state"], "stopped") << sa.dump();
  EXPECT_EQ(sa["mode"]["allowed"], json::array()) << sa.dump();
  expect_stopped_by(*a, "2026-0042");
  const json sb = status_of(*b);
  EXPECT_EQ(sb["mode"]["state"], "restricted") << sb.dump();
  EXPECT_EQ(sb["mode"]["allowed"], json::array({"view", "emergency"})) << sb.dump();
  EXPECT_EQ(sb["mode"]["suspended_users"], json::array({std::string(kC) + "/dr-x"})) << sb.dump();
  EXPECT_EQ(b->call("PUT", "/v1/documents/doc-1", {{"X-HIE-User", "clerk-1"}}, "{}").status, 403);
  const json sc = status_of(*c);
  EXPECT_EQ(sc["mode"]["state"], "normal") << sc.dump();
  EXPECT_EQ(sc["mode"]["suspended_users"], json::array()) << sc.dump();
  for (const auto* s : {&sa, &sb, &sc}) {
    EXPECT_EQ((*s)["directives"]["orders_sequence"], 1) << s->dump();
    EXPECT_EQ((*s)["directives"]["heartbeat_sequence"], 1) << s->dump();
    EXPECT_EQ((*s)["directives"]["failsafe"], false) << s->dump();
  }
  // A re-push of the same set is a no-op everywhere.
  EXPECT_EQ(push(ports, {o, h}).status, 0);
}

// Suspensions are enforced by the facility asked, whatever the asking
// gateway lets its users do: B refuses a suspended user of A, then all of A.
TEST_F(Directives, TheFacilityAskedRefusesASuspendedUserOrFacility) {
  start_a_and_b();
  auto& a = a_;
  auto& b = b_;
  ASSERT_EQ(a->put_user("dr-sato", R"({"role":"physician"})").status, 200);
  ASSERT_EQ(a->put_user("dr-ito", R"({"role":"physician"})").status, 200);
  publish_at_b("b-1", "NT-0001", "summary");
  ASSERT_EQ(b->call("PUT", "/v1/consents/NT-0001", {{"X-HIE-User", "clerk-1"}},
                    R"({"signed_on":"2026-04-01","scope":"*","form_ref":"paper-1"})")
                .status,
            200);
  const auto fetch = [&](const std::string& user) {
    return a->call("GET", std::string("/v1/facilities/") + kB + "/documents/b-1",
                   {{"X-HIE-User", user}, {"X-HIE-Purpose", "treatment"}});
  };
  ASSERT_EQ(fetch("dr-sato").status, 200);

  // dr-sato suspended at B only: A still lets them act, B refuses them.
  deliver(2, json::array({{{"id", "2026-0050"}, {"action", "suspend_user"}, {"audience", json::array({kB})},
                           {"reason", "violation"}, {"user", std::string(kA) + "/dr-sato"}}}));
  auto r = fetch("dr-sato");
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_EQ(json::parse(r.body, nullptr, false)["error"]["code"], "user_suspended") << r.body;
  EXPECT_EQ(fetch("dr-ito").status, 200);

  // Facility A suspended at B: none of A's users gets anything from B.
  deliver(3, json::array({{{"id", "2026-0051"}, {"action", "suspend_facility"}, {"audience", json::array({kB})},
                           {"reason", "violation"}, {"facility", kA}}}));
  r = fetch("dr-ito");
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_EQ(json::parse(r.body, nullptr, false)["error"]["code"], "user_suspended") << r.body;
  EXPECT_EQ(status_of(*a)["mode"]["state"], "normal");  // A itself is not in the audience

  // Lifted: served again.
  deliver(4, json::array());
  EXPECT_EQ(fetch("dr-ito").status, 200);
}

// A disaster order addressed to the stricken facility A (利用規程 第11条2項)
// widens break-glass for A's staff at the facility that holds the records,
// B, which is not in the audience: B honours the order for requests from A.
TEST_F(Directives, ADisasterAtTheAskingFacilityWidensAccessWhereTheRecordsAre) {
  start_a_and_b();
  auto& a = a_;
  ASSERT_EQ(a->put_user("ph-mori", R"({"role":"pharmacist"})").status, 200);
  // An image, not an emergency document type; the patient gave no consent.
  publish_at_b("b-img", "NT-0009", "imaging");
  const auto fetch = [&] {
    return a->call("GET", std::string("/v1/facilities/") + kB + "/documents/b-img",
                   {{"X-HIE-User", "ph-mori"},
                    {"X-HIE-Purpose", "emergency"},
                    {"X-HIE-Patient", "NT-0009"},
                    {"X-HIE-Emergency-Reason", "evacuee without medication list"}});
  };
  auto r = fetch();
  EXPECT_EQ(r.status, 403) << r.body;  // a pharmacist may not break the glass in normal times

  deliver(2, json::array({{{"id", "2026-0090"}, {"action", "disaster"}, {"audience", json::array({kA})},
                           {"reason", "disaster"}}}));
  r = fetch();
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body, nullptr, false)["emergency"], true) << r.body;
  const auto list = a->call("GET", "/v1/patients/NT-0009/documents",
                            {{"X-HIE-User", "ph-mori"},
                             {"X-HIE-Purpose", "emergency"},
                             {"X-HIE-Emergency-Reason", "evacuee without medication list"}});
  ASSERT_EQ(list.status, 200) << list.body;
  EXPECT_NE(list.body.find("b-img"), std::string::npos) << list.body;

  // Lifted: normal break-glass rules again, at both.
  deliver(3, json::array());
  EXPECT_EQ(fetch().status, 403);
}

}  // namespace
}  // namespace hiegate::test
