// One real gateway's peer transport seen from outside: /metrics counts peer
// connections, requests and refused handshakes by reason; changed credential
// files take effect without SIGHUP and a broken one keeps the old ones.
#include <gtest/gtest.h>

#include <filesystem>

#include "hiegate/transport/pki.hpp"
#include "integration/gateway.hpp"

namespace hiegate::test {
namespace {

namespace fs = std::filesystem;
constexpr const char* kSelf = "1300000001";
constexpr const char* kOther = "1300000002";

class PeerTransport : public ::testing::Test {
protected:
  void SetUp() override {
    const auto r = run({binary("hiegate-secretariat").string(), "pki", "dev-network", "--facilities", "2",
                        "--network", "nishitama", "--out", pki().string()});
    ASSERT_EQ(r.status, 0) << r.output;
    port_ = free_port();
    gw_ = std::make_unique<Gateway>("", "", std::vector<std::string>{}, kSelf);
    const auto self = pki() / "facilities" / kSelf;
    gw_->write_config(gw_->config_text("") + "[tls]\ncert = \"" + (self / "cert.pem").string() + "\"\nkey = \"" +
                      (self / "key.pem").string() + "\"\nca = \"" + (pki() / "ca.crt").string() + "\"\ncrl = \"" +
                      (pki() / "crl.pem").string() + "\"\nhandshake_timeout = \"2s\"\n[peer_api]\naddress = " +
                      "\"127.0.0.1\"\nport = " + std::to_string(port_) + "\n");
    gw_->start();
    ASSERT_TRUE(wait_for_line(gw_->dir() / "hiegated.log", "peer API listening"));
  }

  fs::path pki() const { return tmp_.path() / "pki"; }

  /// GET /peer/v1/health through openssl s_client with the credentials in
  /// `dir` (none if empty); returns what the client printed.
  std::string health(const fs::path& dir) const {
    std::string cmd = "printf 'GET /peer/v1/health HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n' | "
                      "openssl s_client -quiet -tls1_2 -connect 127.0.0.1:" + std::to_string(port_) +
                      " -CAfile " + (pki() / "ca.crt").string();
    if (!dir.empty()) cmd += " -cert " + (dir / "cert.pem").string() + " -key " + (dir / "key.pem").string();
    return run({"/bin/sh", "-c", cmd + " 2>&1"}).output;
  }

  /// The value of one metric line (`name` with its labels), -1 if absent.
  double metric(const std::string& name) const {
    const auto m = gw_->get("/metrics");
    const auto at = m.body.find("\n" + name + " ");
    if (at == std::string::npos) return -1;
    return std::stod(m.body.substr(at + name.size() + 2));
  }

  /// Replaces `to` atomically with `content` (write a temporary, rename).
  static void replace(const fs::path& to, const std::string& content) {
    const auto tmp = to.parent_path() / (".new-" + to.filename().string());
    tmp_write(tmp, content);
    fs::rename(tmp, to);
  }
  static void tmp_write(const fs::path& p, const std::string& content) {
    std::FILE* f = std::fopen(p.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    std::fwrite(content.data(), 1, content.size(), f);
    std::fclose(f);
  }

  TempDir tmp_;
  std::uint16_t port_ = 0;
  std::unique_ptr<Gateway> gw_;
};

TEST_F(PeerTransport, MetricsCountConnectionsRequestsAndRefusals) {
  EXPECT_EQ(metric("hiegate_peer_requests_total"), 0);
  const auto ok = health(pki() / "facilities" / kOther);
  EXPECT_NE(ok.find("\"status\":\"ok\""), std::string::npos) << ok;
  health({});  // no client certificate: refused
  EXPECT_TRUE(eventually([&] { return metric("hiegate_peer_connections_total") == 2; }));
  EXPECT_EQ(metric("hiegate_peer_requests_total"), 1);
  EXPECT_GT(metric("hiegate_peer_received_bytes_total"), 40);
  EXPECT_GT(metric("hiegate_peer_sent_bytes_total"), 40);
  EXPECT_EQ(metric("hiegate_peer_requests_forbidden_total"), 0);
  EXPECT_TRUE(eventually([&] { return metric("hiegate_peer_connections_open") == 0; }));
  const auto body = gw_->get("/metrics").body;
  EXPECT_NE(body.find("hiegate_peer_handshake_failures_total{reason=\""), std::string::npos) << body;
  EXPECT_GT(metric("hiegate_tls_certificate_expiry_seconds"), 300 * 86400.0);
  EXPECT_EQ(metric("hiegate_tls_certificate_expiring"), 0);
  EXPECT_EQ(metric("hiegate_tls_crl_state"), 0);
}

TEST_F(PeerTransport, NewCrlRefusesARevokedPeerWithoutSignal) {
  const auto other = pki() / "facilities" / kOther;
  ASSERT_NE(health(other).find("\"status\":\"ok\""), std::string::npos);
  const auto serial = transport::pki::serial_hex(read_file(other / "cert.pem"));
  ASSERT_TRUE(serial);
  ASSERT_TRUE(transport::pki::ca_revoke(pki() / "ca", *serial, std::chrono::system_clock::now()));
  replace(pki() / "crl.pem", read_file(pki() / "ca" / "crl.pem"));
  ASSERT_TRUE(wait_for_line(gw_->dir() / "hiegated.log", "tls_reloaded")) << gw_->log();
  const auto out = health(other);
  EXPECT_EQ(out.find("\"status\":\"ok\""), std::string::npos) << out;
  EXPECT_TRUE(eventually(
      [&] { return metric("hiegate_peer_handshake_failures_total{reason=\"certificate_revoked\"}") == 1; }));
  EXPECT_TRUE(wait_for_line(gw_->dir() / "hiegated.log", "certificate_revoked")) << gw_->log();
  // The secretariat (not revoked) still gets in.
  EXPECT_NE(health(pki() / "secretariat").find("\"status\":\"ok\""), std::string::npos);
}

TEST_F(PeerTransport, GarbageCertificateKeepsTheOldCredentials) {
  const auto self = pki() / "facilities" / kSelf;
  replace(self / "cert.pem", "-----BEGIN CERTIFICATE-----\nZ2FyYmFnZQ==\n-----END CERTIFICATE-----\n");
  ASSERT_TRUE(wait_for_line(gw_->dir() / "hiegated.log", "tls_reload_failed")) << gw_->log();
  EXPECT_EQ(gw_->log().find("tls_reloaded"), std::string::npos);
  const auto out = health(pki() / "facilities" / kOther);
  EXPECT_NE(out.find("\"status\":\"ok\""), std::string::npos) << "the old certificate still serves: " << out;
}

// Under systemd the unit hands the TLS key over as the credential tls-key
// (LoadCredential=), so that key.pem may stay readable by root only: the
// gateway takes the key from $CREDENTIALS_DIRECTORY when it cannot read the
// configured file, and serves the peer API with it.
TEST_F(PeerTransport, TheTlsKeyMayBeHandedOverAsAServiceCredential) {
  TempDir creds;
  const auto self = pki() / "facilities" / kSelf;
  Gateway gw("", "", {"CREDENTIALS_DIRECTORY=" + creds.path().string()}, kSelf);
  creds.write("master-key", test::read_file(gw.dir() / "master-key"), 0400);
  creds.write("tls-key", test::read_file(self / "key.pem"), 0400);
  const auto port = free_port();
  gw.write_config(gw.config_text("") + "[tls]\ncert = \"" + (self / "cert.pem").string() + "\"\nkey = \"" +
                  (creds.path() / "not-here" / "key.pem").string() + "\"\nca = \"" + (pki() / "ca.crt").string() +
                  "\"\ncrl = \"" + (pki() / "crl.pem").string() + "\"\n[peer_api]\naddress = \"127.0.0.1\"\nport = " +
                  std::to_string(port) + "\n");
  gw.start();
  ASSERT_TRUE(wait_for_line(gw.dir() / "hiegated.log", "peer API listening")) << gw.log();
  port_ = port;  // health() asks this gateway now
  const auto ok = health(pki() / "facilities" / kOther);
  EXPECT_NE(ok.find("\"status\":\"ok\""), std::string::npos) << ok;
  EXPECT_EQ(gw.stop(), 0);
}

}  // namespace
}  // namespace hiegate::test
