// [directives] pull_url: a real gateway polls an in-test orders server over
// mutual TLS; only the secretariat's certificate is believed.
#include <gtest/gtest.h>

#include <atomic>
#include <csignal>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "hiegate/transport/pki.hpp"
#include "integration/fake_peer.hpp"
#include "integration/live_orders.hpp"

namespace hiegate::test {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;


/// An orders endpoint (GET /peer/v1/orders, any caller of the network) that
/// presents the certificate in `cert_dir` of the dev PKI in `pki`.
class OrdersServer {
public:
  OrdersServer(const std::filesystem::path& pki, const std::filesystem::path& cert_dir)
      : peer_(pki, cert_dir, {route()}) {}
  void serve(std::string body) {
    std::lock_guard lk(mu_);
    body_ = std::move(body);
  }
  [[nodiscard]] std::string url() const {
    return "https://127.0.0.1:" + std::to_string(peer_.port()) + "/peer/v1/orders";
  }
  [[nodiscard]] int requests() const { return requests_; }

private:
  transport::PeerRoute route() {
    transport::PeerRoute r;
    r.method = "GET";
    r.path = "/peer/v1/orders";
    r.allowed = transport::Caller::any;
    r.handler = [this](const transport::PeerRequest&) {
      ++requests_;
      std::lock_guard lk(mu_);
      return transport::PeerResponse::json(200, body_);
    };
    return r;
  }
  std::mutex mu_;
  std::string body_ = "[]";
  std::atomic<int> requests_{0};
  FakePeer peer_;  // last: its thread stops before the state it serves goes
};

class DirectivePull : public DirectiveNetwork {
protected:
  std::unique_ptr<Gateway> make_puller(const std::string& url, const std::string& interval = "1s") {
    std::map<std::string, std::uint16_t> ports;
    for (const char* f : kFacilities) ports[f] = free_port();
    auto gw = std::make_unique<Gateway>("", "", std::vector<std::string>{}, kA);
    gw->write_config(gw->config_text("") + tls_and_peers(kA, ports) + directives_section() + "pull_url = \"" + url +
                     "\"\npull_interval = \"" + interval + "\"\n");
    gw->start();
    return gw;
  }
  static std::string mode_of(const Gateway& gw) {
    const auto r = gw.get("/v1/status");
    return json::parse(r.body, nullptr, false)["mode"].value("state", "");
  }
  static bool wait_for_mode(const Gateway& gw, const std::string& state) {
    return eventually([&] { return mode_of(gw) == state; }, 10s);
  }
  std::filesystem::path pki() const { return pki_->path() / "pki"; }
};

TEST_F(DirectivePull, TheGatewayPullsAndFollowsTheSecretariat) {
  OrdersServer server(pki(), pki() / "secretariat");
  server.serve(orders_.delivery(1, json::array({LiveOrders::stop("2026-0060", json::array({kA}))})));
  auto a = make_puller(server.url());
  ASSERT_TRUE(wait_for_mode(*a, "stopped")) << a->log();
  EXPECT_TRUE(wait_for_line(a->dir() / "hiegated.log", "directive accepted")) << a->log();

  // The order is lifted by a newer set, picked up at the next poll.
  server.serve(orders_.delivery(2, json::array()));
  ASSERT_TRUE(wait_for_mode(*a, "normal")) << a->log();
  const json s = json::parse(a->get("/v1/status").body);
  EXPECT_EQ(s["directives"]["orders_sequence"], 2);
  EXPECT_EQ(a->log().find("pulling orders from"), std::string::npos) << a->log();
}

// A heartbeat (pushed, or taken in locally) that names orders newer than
// those held makes the gateway pull at once instead of at its next poll.
TEST_F(DirectivePull, AHeartbeatNamingNewerOrdersIsFollowedByAPullAtOnce) {
  OrdersServer server(pki(), pki() / "secretariat");
  server.serve(orders_.delivery(1, json::array()));
  auto a = make_puller(server.url(), "1h");
  ASSERT_TRUE(wait_for_mode(*a, "normal")) << a->log();
  const int polls = server.requests();
  const json stop = json::array({LiveOrders::stop("2026-0062", json::array({kA}))});
  server.serve(orders_.delivery(2, stop));
  const auto [o2, h2] = orders_.signed_set(2, stop);
  const auto r = a->call("POST", "/v1/directives", {}, "[" + h2 + "]");
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_TRUE(wait_for_mode(*a, "stopped")) << a->log();  // seconds, not the hour of the poll
  EXPECT_GT(server.requests(), polls);
  EXPECT_EQ(json::parse(a->get("/v1/status").body)["directives"]["orders_sequence"], 2);
}

// Whatever the orders server answers is input: a body that is not UTF-8 (a
// Shift_JIS error page) is a failed pull, logged, and the gateway goes on
// polling and follows the next good answer.
TEST_F(DirectivePull, ABodyThatIsNotUtf8IsAFailedPullNotACrash) {
  OrdersServer server(pki(), pki() / "secretariat");
  server.serve("[\"\x83\x47\x83\x89\x81\x5b\"]");
  auto a = make_puller(server.url());
  const auto line = wait_for_line(a->dir() / "hiegated.log", "pulling orders from");
  ASSERT_TRUE(line) << a->log();
  EXPECT_TRUE(a->process().running());
  server.serve(orders_.delivery(1, json::array({LiveOrders::stop("2026-0063", json::array({kA}))})));
  ASSERT_TRUE(wait_for_mode(*a, "stopped")) << a->log();
  EXPECT_TRUE(a->process().running());
}

TEST_F(DirectivePull, AServerWithAFacilityCertificateIsNotBelieved) {
  OrdersServer server(pki(), pki() / "facilities" / kB);
  server.serve(orders_.delivery(1, json::array()));
  auto a = make_puller(server.url());
  const auto line = wait_for_line(a->dir() / "hiegated.log", "pulling orders from");
  ASSERT_TRUE(line) << a->log();
  EXPECT_NE(line->find("not the peer we called"), std::string::npos) << *line;
  EXPECT_EQ(server.requests(), 0);
  EXPECT_EQ(mode_of(*a), "failsafe");  // nothing was applied
}

TEST_F(DirectivePull, HiegateSecretariatServeServesTheOrdersToPull) {
  const auto [o, h] = orders_.signed_set(1, json::array({LiveOrders::stop("2026-0061", json::array({kA}))}));
  const std::uint16_t port = free_port();
  Child serve({binary("hiegate-secretariat").string(), "serve", "--envelope", keys_.write("o.json", o).string(),
               "--envelope", keys_.write("h.json", h).string(), "--network", "nishitama", "--cert",
               (pki() / "secretariat").string(), "--listen", "127.0.0.1", "--port", std::to_string(port)},
              {}, keys_ / "serve.log");
  ASSERT_TRUE(wait_for_line(keys_ / "serve.log", "serving orders on")) << read_file(keys_ / "serve.log");
  auto a = make_puller("https://127.0.0.1:" + std::to_string(port) + "/peer/v1/orders");
  ASSERT_TRUE(wait_for_mode(*a, "stopped")) << a->log() << read_file(keys_ / "serve.log");
  EXPECT_TRUE(wait_for_line(keys_ / "serve.log", std::string("to hie://nishitama/facility/") + kA));
  serve.signal(SIGTERM);
  EXPECT_EQ(serve.wait(10s), 0);
}

// The secretariat's serve signs the heartbeat itself with the online key:
// gateways that pull stay fresh without anyone signing one by hand, and a
// changed orders body is named by a new heartbeat at once.
TEST_F(DirectivePull, HiegateSecretariatServeSignsTheHeartbeatItself) {
  using policy::testing::DirectiveKit;
  const auto write_set = [&](std::uint64_t seq, const json& list) {
    const std::string body = DirectiveKit::orders_body(seq, list, 1, orders_.issued);
    keys_.write("orders.body", body);
    keys_.write("o.json", orders_.kit.signed_orders(body));
  };
  write_set(1, json::array());
  const auto key = keys_.write("hb.key", "hiegate-ed25519-seed-v1 " + crypto::to_base64(crypto::Bytes(32, 21)) + "\n");
  std::filesystem::permissions(key, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  const std::uint16_t port = free_port();
  Child serve({binary("hiegate-secretariat").string(), "serve", "--envelope", (keys_ / "o.json").string(),
               "--heartbeat-key", key.string(), "--orders-body", (keys_ / "orders.body").string(),
               "--keyset-version", "1", "--heartbeat-every", "1h", "--valid-for", "24h", "--network", "nishitama",
               "--cert", (pki() / "secretariat").string(), "--listen", "127.0.0.1", "--port", std::to_string(port)},
              {}, keys_ / "serve.log");
  ASSERT_TRUE(wait_for_line(keys_ / "serve.log", "serving orders on")) << read_file(keys_ / "serve.log");
  EXPECT_NE(read_file(keys_ / "serve.log").find("heartbeat sequence"), std::string::npos);
  auto a = make_puller("https://127.0.0.1:" + std::to_string(port) + "/peer/v1/orders");
  ASSERT_TRUE(wait_for_mode(*a, "normal")) << a->log() << read_file(keys_ / "serve.log");
  const auto heartbeat = [&] {
    return json::parse(a->get("/v1/status").body, nullptr, false)["directives"].value("heartbeat_sequence", 0ULL);
  };
  const auto first = heartbeat();
  const auto unix_now = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                                       std::chrono::system_clock::now().time_since_epoch())
                                                       .count());
  EXPECT_GE(first + 120, unix_now);  // the sequence is the signing time
  EXPECT_LE(first, unix_now);

  // New orders: the next heartbeat names them, signed at once.
  write_set(2, json::array({LiveOrders::stop("2026-0071", json::array({kA}))}));
  ASSERT_TRUE(wait_for_mode(*a, "stopped")) << a->log() << read_file(keys_ / "serve.log");
  EXPECT_TRUE(eventually([&] { return heartbeat() > first; })) << a->log();
  EXPECT_FALSE(json::parse(a->get("/v1/status").body)["mode"].value("behind", false));
  serve.signal(SIGTERM);
  EXPECT_EQ(serve.wait(10s), 0);

  // A key file others may read is refused at start.
  std::filesystem::permissions(key, std::filesystem::perms::group_read, std::filesystem::perm_options::add);
  const auto refused = run({binary("hiegate-secretariat").string(), "serve", "--envelope", (keys_ / "o.json").string(),
                            "--heartbeat-key", key.string(), "--orders-body", (keys_ / "orders.body").string(),
                            "--keyset-version", "1", "--network", "nishitama", "--cert",
                            (pki() / "secretariat").string(), "--listen", "127.0.0.1", "--port",
                            std::to_string(free_port())});
  EXPECT_NE(refused.status, 0);
  EXPECT_NE(refused.output.find("insecure_key_file"), std::string::npos) << refused.output;
}

// [tls] crl_url: the secretariat's serve publishes the CA's CRL and the
// gateway takes a newer one by itself — checked against the CA, kept in the
// state directory, in force at once and after a restart — so a revocation
// reaches every facility without anyone copying a file.
TEST_F(DirectivePull, ANewerCrlIsPulledFromTheSecretariatAndPutInForce) {
  const auto [o, h] = orders_.signed_set(1, json::array());
  const std::uint16_t port = free_port();
  // The CA revokes the third facility: a newer CRL, valid for 60 days.
  const auto serial = transport::pki::serial_hex(read_file(pki() / "facilities" / kFacilities[2] / "cert.pem"));
  ASSERT_TRUE(serial);
  ASSERT_TRUE(transport::pki::ca_revoke(pki() / "ca", *serial, std::chrono::system_clock::now() + 5s, 60));
  Child serve({binary("hiegate-secretariat").string(), "serve", "--envelope", keys_.write("o.json", o).string(),
               "--envelope", keys_.write("h.json", h).string(), "--network", "nishitama", "--cert",
               (pki() / "secretariat").string(), "--crl", (pki() / "ca" / "crl.pem").string(), "--listen",
               "127.0.0.1", "--port", std::to_string(port)},
              {}, keys_ / "serve.log");
  ASSERT_TRUE(wait_for_line(keys_ / "serve.log", "serving orders on")) << read_file(keys_ / "serve.log");
  std::map<std::string, std::uint16_t> ports;
  for (const char* f : kFacilities) ports[f] = free_port();
  Gateway a("", "", std::vector<std::string>{}, kA);
  std::string text = a.config_text("") + tls_and_peers(kA, ports) + directives_section();
  text.replace(text.find("[tls]\n"), 6,
               "[tls]\ncrl_url = \"https://127.0.0.1:" + std::to_string(port) + "/peer/v1/crl\"\n");
  a.write_config(text);
  a.start();
  const auto crl_days = [&] {
    const auto m = a.get("/metrics").body;
    const std::string key = "\nhiegate_tls_crl_next_update_seconds ";
    const auto at = m.find(key);
    return at == std::string::npos ? 0.0 : std::stod(m.substr(at + key.size())) / 86400.0;
  };
  ASSERT_TRUE(wait_for_line(a.dir() / "hiegated.log", "crl_updated")) << a.log() << read_file(keys_ / "serve.log");
  EXPECT_GT(crl_days(), 59.0);  // the pulled CRL, not the configured one (30 days)
  EXPECT_EQ(read_file(a.dir() / "state" / "crl-pulled.pem"), read_file(pki() / "ca" / "crl.pem"));
  EXPECT_TRUE(wait_for_line(keys_ / "serve.log", std::string("served the CRL to hie://nishitama/facility/") + kA));
  // The configured file is untouched; a restart keeps the newer CRL in force.
  ASSERT_EQ(a.stop(), 0);
  a.start();
  EXPECT_GT(crl_days(), 59.0);
  serve.signal(SIGTERM);
  EXPECT_EQ(serve.wait(10s), 0);
}

}  // namespace
}  // namespace hiegate::test
