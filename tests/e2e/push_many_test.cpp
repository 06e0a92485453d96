// One `hiegate-secretariat push --to all` stops twenty gateways: each
// acknowledges over mutual TLS, the tool prints every acknowledgement, and
// every gateway ends stopped with the order's message.
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "e2e/e2e_kit.hpp"

namespace hiegate::test::e2e {
namespace {

using namespace std::chrono_literals;

constexpr int kGateways = 20;

TEST(PushMany, OnePushStopsTwentyGatewaysAndPrintsEachAcknowledgement) {
  Pki pki(kGateways);
  Secretariat sec;
  std::map<std::string, std::uint16_t> ports;
  for (int i = 1; i <= kGateways; ++i) ports[facility(i)] = free_port();
  // Small gateways: no peers of their own (only the secretariat calls them).
  std::vector<std::unique_ptr<Gateway>> gws;
  for (const auto& [code, port] : ports) gws.push_back(make_gateway(pki, sec, code, port, {}));
  {
    std::vector<std::thread> starting;
    for (auto& gw : gws) starting.emplace_back([&gw] { gw->start(); });
    for (auto& t : starting) t.join();
  }
  ASSERT_FALSE(::testing::Test::HasFatalFailure());

  TempDir dir;
  std::string peers = "network = \"nishitama\"\n";
  for (const auto& [code, port] : ports) {
    peers += "[[peer]]\nfacility = \"" + code + "\"\nhost = \"127.0.0.1\"\nport = " + std::to_string(port) + "\n";
  }
  const std::string body = Secretariat::orders_body(1, json::array({stop_order("2026-0200", "*", "disaster")}));
  const auto orders = dir.write("orders.json", sec.signed_orders(body));
  const auto heartbeat = dir.write("heartbeat.json", sec.signed_heartbeat(1, 1, body));
  const auto started = std::chrono::steady_clock::now();
  const auto r = run({binary("hiegate-secretariat").string(), "push", "--to", "all", "--envelope", orders.string(),
                      "--envelope", heartbeat.string(), "--peers", dir.write("peers.toml", peers).string(),
                      "--cert", (pki.dir() / "secretariat").string(), "--timeout", "10s"});
  const auto took = std::chrono::steady_clock::now() - started;
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_LT(took, 15s);

  // One acknowledgement line per gateway: HTTP 200, orders 1 accepted, stopped.
  const std::regex line("^(13[0-9]{8}): HTTP 200 keyset 1 orders 1 heartbeat 1 mode stopped\\b.*$");
  std::set<std::string> acknowledged;
  std::istringstream out(r.output);
  for (std::string l; std::getline(out, l);) {
    std::smatch m;
    if (std::regex_match(l, m, line)) acknowledged.insert(m[1]);
  }
  EXPECT_EQ(acknowledged.size(), static_cast<std::size_t>(kGateways)) << r.output;
  for (const auto& [code, port] : ports) EXPECT_EQ(acknowledged.count(code), 1U) << code << "\n" << r.output;

  for (auto& gw : gws) {
    const auto status = json::parse(gw->get("/v1/status").body);
    EXPECT_EQ(status["mode"]["state"], "stopped") << gw->facility();
    EXPECT_EQ(status["mode"]["stopped_by"][0]["id"], "2026-0200") << gw->facility();
    EXPECT_EQ(status["directives"]["orders_sequence"], 1) << gw->facility();
  }
  for (auto& gw : gws) EXPECT_EQ(gw->stop(), 0) << gw->facility();
}

}  // namespace
}  // namespace hiegate::test::e2e
