// push: the secretariat's certificate delivers to a real PeerServer carrying
// the daemon's directives route; a facility certificate is refused.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "daemon/directive_fixture.hpp"
#include "hiegate/daemon/directive_api.hpp"
#include "hiegate/transport/peer_server.hpp"
#include "secretariat/push.hpp"
#include "secretariat_kit.hpp"
#include "transport/tls_fixture.hpp"

namespace hiegate::tools::testing {
namespace {

using nlohmann::json;
using policy::testing::DirectiveKit;
using transport::testing::Pki;

/// The DirectiveKit's documents are issued at 09:00 of its day.
policy::Time kit_time() { return policy::parse_rfc3339("2026-11-21T09:05:00Z").value(); }

class SecretariatPush : public ::testing::Test {
protected:
  void SetUp() override {
    transport::PeerServerOptions opts;
    opts.address = "127.0.0.1";
    opts.port = 0;
    server = std::make_unique<transport::PeerServer>(
        ioc, transport::TlsContext::create(pki.store(pki.facility_dir(0)), {}), opts,
        std::vector<transport::PeerRoute>{
            daemon::directives_peer_route(service, pki.net.facility_codes[0], [] { return kit_time(); }, {}),
            daemon::directives_status_route(service, pki.net.facility_codes[0], [] { return kit_time(); })});
    ASSERT_TRUE(server->start());
    thread = std::thread([this] { ioc.run(); });
  }
  void TearDown() override {
    server->stop();
    work.reset();
    ioc.stop();
    thread.join();
  }
  std::shared_ptr<transport::TlsContext> tls_of(const std::filesystem::path& d) {
    return transport::TlsContext::create(pki.store(d), {});
  }
  transport::PeerAddress us() const {
    return {pki.net.facility_codes[0], "127.0.0.1", server->port()};
  }
  /// A peer that is not listening: a port just closed.
  transport::PeerAddress down() {
    boost::asio::io_context tmp;
    boost::asio::ip::tcp::acceptor acc(tmp, {boost::asio::ip::make_address("127.0.0.1"), 0});
    return {pki.net.facility_codes[1], "127.0.0.1", acc.local_endpoint().port()};
  }
  std::string orders_envelope() const {
    const std::string body = DirectiveKit::orders_body(
        1, json::array({{{"id", "m1"}, {"action", "stop"}, {"audience", {pki.net.facility_codes[0]}},
                         {"reason", "maintenance"}}}));
    return kit.signed_orders(body);
  }

  Pki pki;
  test::TempDir state;
  DirectiveKit kit;
  policy::VerifierOptions verifier;
  daemon::DirectiveService service = [this] {
    verifier.network = "nishitama";
    return daemon::testing::make_directive_service(state.path(), kit, verifier);
  }();
  boost::asio::io_context ioc;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work =
      boost::asio::make_work_guard(ioc);
  std::unique_ptr<transport::PeerServer> server;
  std::thread thread;
};

TEST_F(SecretariatPush, FacilityCertificateIsRefused) {
  const auto out = secretariat::push_all(tls_of(pki.facility_dir(1)), {us()}, orders_envelope(),
                                         std::chrono::seconds(5));
  ASSERT_EQ(out.size(), 1u);
  ASSERT_FALSE(out[0].failure) << out[0].failure->message;
  EXPECT_EQ(out[0].status, 403u);
  EXPECT_FALSE(out[0].accepted());
  EXPECT_FALSE(service.snapshot()->state.orders.has_value());
}

TEST_F(SecretariatPush, SecretariatGetsAcknowledgementsAndMissingPeersAreListed) {
  const auto out = secretariat::push_all(tls_of(pki.net.secretariat_dir), {us(), down()},
                                         orders_envelope(), std::chrono::seconds(5));
  ASSERT_EQ(out.size(), 2u);
  ASSERT_TRUE(out[0].accepted()) << out[0].status << " " << out[0].body;
  const json ack = json::parse(out[0].body);
  EXPECT_EQ(ack["facility"], pki.net.facility_codes[0]);
  EXPECT_EQ(ack["orders_sequence"], 1);
  EXPECT_EQ(ack["mode"], "stopped");
  EXPECT_NE(secretariat::describe(out[0]).find("orders 1"), std::string::npos);
  EXPECT_TRUE(out[1].failure.has_value());
  EXPECT_NE(secretariat::describe(out[1]).find("no answer"), std::string::npos);
  EXPECT_EQ(service.snapshot()->state.orders->value.sequence, 1u);
}

TEST_F(SecretariatPush, PushCommandExitsNonZeroUnlessEveryPeerAccepted) {
  const auto peers = pki.dir.write(
      "peers.toml", "network = \"nishitama\"\n[[peer]]\nfacility = \"" + us().facility +
                        "\"\nhost = \"127.0.0.1\"\nport = " + std::to_string(us().port) +
                        "\n[[peer]]\nfacility = \"" + down().facility +
                        "\"\nhost = \"127.0.0.1\"\nport = " + std::to_string(down().port) + "\n");
  const auto env = pki.dir.write("orders.env", orders_envelope());
  const std::string cert = pki.net.secretariat_dir.string();
  EXPECT_EQ(run(push_main, {"push", "--to", us().facility, "--envelope", env.string(), "--peers",
                            peers.string(), "--cert", cert, "--timeout", "5s"}),
            0);
  EXPECT_EQ(run(push_main, {"push", "--to", "all", "--envelope", env.string(), "--peers",
                            peers.string(), "--cert", cert, "--timeout", "5s"}),
            1);
  // A facility's certificate is not the secretariat's: refused before sending.
  EXPECT_EQ(run(push_main, {"push", "--to", "all", "--envelope", env.string(), "--peers",
                            peers.string(), "--cert", pki.facility_dir(0).string(), "--ca",
                            (pki.net.ca_dir / "ca.crt").string(), "--crl",
                            (pki.net.ca_dir / "crl.pem").string()}),
            1);
  EXPECT_EQ(run(push_main, {"push", "--to", "9999999999", "--envelope", env.string(), "--peers",
                            peers.string(), "--cert", cert}),
            1);
}

// The status read: what each gateway holds and its mode, without delivering
// anything; the secretariat's certificate only. The command exits 1 unless
// every gateway answered.
TEST_F(SecretariatPush, StatusReadsWhatEachGatewayHolds) {
  auto before = secretariat::status_all(tls_of(pki.net.secretariat_dir), {us()}, std::chrono::seconds(5));
  ASSERT_EQ(before.size(), 1u);
  ASSERT_TRUE(before[0].accepted()) << before[0].status << " " << before[0].body;
  EXPECT_TRUE(json::parse(before[0].body)["orders_sequence"].is_null());
  ASSERT_TRUE(secretariat::push_all(tls_of(pki.net.secretariat_dir), {us()}, orders_envelope(),
                                    std::chrono::seconds(5))[0].accepted());
  const auto after =
      secretariat::status_all(tls_of(pki.net.secretariat_dir), {us(), down()}, std::chrono::seconds(5));
  ASSERT_TRUE(after[0].accepted());
  const json j = json::parse(after[0].body);
  EXPECT_EQ(j["facility"], pki.net.facility_codes[0]);
  EXPECT_EQ(j["orders_sequence"], 1);
  EXPECT_EQ(j["mode"], "stopped");
  EXPECT_FALSE(j.contains("results"));  // nothing was delivered
  EXPECT_NE(secretariat::describe(after[0]).find("orders 1"), std::string::npos) << secretariat::describe(after[0]);
  EXPECT_TRUE(after[1].failure.has_value());
  // A facility may not read it.
  const auto facility = secretariat::status_all(tls_of(pki.facility_dir(1)), {us()}, std::chrono::seconds(5));
  EXPECT_EQ(facility[0].status, 403u);
  EXPECT_EQ(service.snapshot()->state.orders->value.sequence, 1u);

  const auto peers = pki.dir.write(
      "peers.toml", "network = \"nishitama\"\n[[peer]]\nfacility = \"" + us().facility +
                        "\"\nhost = \"127.0.0.1\"\nport = " + std::to_string(us().port) +
                        "\n[[peer]]\nfacility = \"" + down().facility +
                        "\"\nhost = \"127.0.0.1\"\nport = " + std::to_string(down().port) + "\n");
  const std::string cert = pki.net.secretariat_dir.string();
  EXPECT_EQ(run(status_main, {"status", "--to", us().facility, "--peers", peers.string(), "--cert", cert,
                              "--timeout", "5s"}),
            0);
  EXPECT_EQ(run(status_main, {"status", "--to", "all", "--peers", peers.string(), "--cert", cert,
                              "--timeout", "5s"}),
            1);
  EXPECT_EQ(run(status_main, {"status", "--peers", peers.string(), "--cert", cert}), 2);
}

TEST(SecretariatPeers, FileIsCheckedStrictly) {
  auto ok = secretariat::parse_peers(
      "network = \"nishitama\"\n[[peer]]\nfacility = \"1300000001\"\nhost = \"gw\"\n", "p");
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->peers[0].port, 8471);
  for (const char* bad :
       {"", "network = \"nishitama\"\n",
        "network = \"nishitama\"\n[[peer]]\nfacility = \"13\"\nhost = \"gw\"\n",
        "network = \"nishitama\"\n[[peer]]\nfacility = \"1300000001\"\nhost = \"gw\"\nprot = 1\n",
        "network = \"nishitama\"\n[[peer]]\nfacility = \"1300000001\"\nhost = \"gw\"\nport = 70000\n",
        "network = \"nishitama\"\n[[peer]]\nfacility = \"1300000001\"\nhost = \"gw\"\n"
        "[[peer]]\nfacility = \"1300000001\"\nhost = \"gw2\"\n",
        "network = \"Nishi Tama\"\n[[peer]]\nfacility = \"1300000001\"\nhost = \"gw\"\n",
        "network = \"nishitama\"\nextra = 1\n[[peer]]\nfacility = \"1300000001\"\nhost = \"gw\"\n"}) {
    auto r = secretariat::parse_peers(bad, "p");
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, "bad_peers_file");
  }
  EXPECT_EQ(secretariat::delivery_body({}).error().code, "malformed");
  EXPECT_EQ(secretariat::delivery_body({"{}"}).error().code, "malformed");
}

}  // namespace
}  // namespace hiegate::tools::testing
