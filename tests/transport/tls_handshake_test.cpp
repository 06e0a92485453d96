// The TLS stream as a server against openssl s_client as an independent peer.
#include <gtest/gtest.h>

#include <map>

#include "tls_fixture.hpp"

namespace hiegate::transport::testing {
namespace {

class TlsHandshake : public ::testing::Test {
protected:
  void SetUp() override {
    ctx = TlsContext::create(pki.store(pki.facility_dir(0)), TlsSettings{});
    acc.open(asio::ip::tcp::v4());
    acc.bind({asio::ip::make_address("127.0.0.1"), 0});
    acc.listen();
  }

  /// Runs s_client with `args` against one server connection.
  ServerOutcome connect(const std::vector<std::string>& args, const std::string& input = "hello\n",
                        std::chrono::milliseconds timeout = std::chrono::milliseconds(3000)) {
    ServerOutcome out;
    serve_one(acc, ctx, out, timeout);
    std::vector<std::string> argv = {"openssl", "s_client", "-connect",
                                     "127.0.0.1:" + std::to_string(acc.local_endpoint().port()),
                                     "-CAfile", (pki.ca_dir() / "ca.crt").string()};
    argv.insert(argv.end(), args.begin(), args.end());
    Child child(argv, input, pki.dir / "s_client.log");
    run_until(ioc, [&] { return out.done; });
    child.wait();
    return out;
  }
  std::vector<std::string> cert_args(const fs::path& d) {
    return {"-cert", (d / "cert.pem").string(), "-key", (d / "key.pem").string()};
  }

  Pki pki;
  asio::io_context ioc;
  asio::ip::tcp::acceptor acc{ioc};
  std::shared_ptr<TlsContext> ctx;
};

TEST_F(TlsHandshake, AcceptsValidFacility) {
  auto out = connect(cert_args(pki.facility_dir(1)));
  ASSERT_FALSE(out.handshake) << out.handshake.message();
  ASSERT_TRUE(out.peer);
  EXPECT_EQ(*out.peer, pki.facility(1));
  EXPECT_EQ(out.data, "hello\n");
  EXPECT_EQ(out.read, asio::error::eof);  // s_client sent close_notify on stdin EOF
}

TEST_F(TlsHandshake, AcceptsSecretariat) {
  auto out = connect(cert_args(pki.net.secretariat_dir));
  ASSERT_FALSE(out.handshake) << out.handshake.message();
  ASSERT_TRUE(out.peer);
  EXPECT_EQ(out.peer->kind, PeerIdentity::Kind::secretariat);
}

TEST_F(TlsHandshake, AcceptsCertificateMadeWithOpensslCli) {
  auto d = pki.openssl_issue("cli", "/CN=ignored",
                             "subjectAltName=URI:hie://nishitama/facility/1399999999");
  auto out = connect(cert_args(d));
  ASSERT_FALSE(out.handshake) << out.handshake.message();
  EXPECT_EQ(out.peer->facility, "1399999999");
}

TEST_F(TlsHandshake, RefusesNoClientCertificate) {
  auto out = connect({});
  EXPECT_TRUE(out.handshake);
  EXPECT_FALSE(out.peer);
}

TEST_F(TlsHandshake, RefusesCertificateFromAnotherCa) {
  Pki other;
  auto out = connect(cert_args(other.facility_dir(0)));
  EXPECT_EQ(out.handshake, TlsErrc::peer_rejected);
  ASSERT_TRUE(out.error);
  EXPECT_EQ(out.error->code, "certificate_invalid");
}

TEST_F(TlsHandshake, RefusesExpiredAndNotYetValid) {
  const auto now = Clock::now();
  auto expired = pki.issue("expired", pki.facility(1), now - std::chrono::hours(48), now - std::chrono::hours(24));
  auto out = connect(cert_args(expired));
  EXPECT_EQ(out.handshake, TlsErrc::peer_rejected);
  EXPECT_EQ(out.error->code, "certificate_expired");
  auto future = pki.issue("future", pki.facility(1), now + std::chrono::hours(24), now + std::chrono::hours(48));
  out = connect(cert_args(future));
  EXPECT_EQ(out.handshake, TlsErrc::peer_rejected);
  EXPECT_EQ(out.error->code, "certificate_not_yet_valid");
}

TEST_F(TlsHandshake, RefusesRevoked) {
  auto serial = pki::serial_hex(test::read_file(pki.facility_dir(1) / "cert.pem"));
  ASSERT_TRUE(serial);
  ASSERT_TRUE(pki::ca_revoke(pki.ca_dir(), *serial, Clock::now()));
  // The CRL is read at load: a new context sees the revocation.
  ctx = TlsContext::create(pki.store(pki.facility_dir(0)), TlsSettings{});
  auto out = connect(cert_args(pki.facility_dir(1)));
  EXPECT_EQ(out.handshake, TlsErrc::peer_rejected);
  EXPECT_EQ(out.error->code, "certificate_revoked");
}

TEST_F(TlsHandshake, RefusesStaleCrlAfterGrace) {
  CredentialOptions opts;
  opts.crl_grace = std::chrono::hours(1);
  TlsSettings settings;
  settings.clock = [] { return Clock::now() + std::chrono::hours(24 * 31); };  // CRL valid 30 days
  ctx = TlsContext::create(pki.store(pki.facility_dir(0), opts), settings);
  auto out = connect(cert_args(pki.facility_dir(1)));
  EXPECT_EQ(out.handshake, TlsErrc::peer_rejected);
  EXPECT_EQ(out.error->code, "crl_stale");
  const auto creds = ctx->store()->current();
  const auto after = Clock::now() + std::chrono::hours(24 * 30) + std::chrono::minutes(30);
  EXPECT_TRUE(creds->crl_stale(after));
  EXPECT_TRUE(creds->crl_usable(after));  // within grace: flagged, still usable
}

TEST_F(TlsHandshake, RefusesForeignNetworkTwoSansAndCnOnly) {
  struct Case {
    const char* name;
    const char* ext;
    const char* code;
  } cases[] = {
      {"foreign", "subjectAltName=URI:hie://othernet/facility/1311111111", "foreign_network"},
      {"two", "subjectAltName=URI:hie://nishitama/facility/1311111111,URI:hie://nishitama/secretariat",
       "ambiguous_identity"},
      {"cn", "", "no_identity"},
      {"dns", "subjectAltName=DNS:gw.example.jp", "no_identity"},
  };
  for (const auto& c : cases) {
    auto d = pki.openssl_issue(c.name, "/CN=hie:\\/\\/nishitama\\/facility\\/1311111111", c.ext);
    auto out = connect(cert_args(d));
    EXPECT_EQ(out.handshake, TlsErrc::peer_rejected) << c.name;
    ASSERT_TRUE(out.error) << c.name;
    EXPECT_EQ(out.error->code, c.code) << c.name;
    EXPECT_FALSE(out.peer) << c.name;
  }
}

TEST_F(TlsHandshake, RefusesOldProtocolsAndWeakSuites) {
  const auto cert = cert_args(pki.facility_dir(1));
  for (std::vector<std::string> extra : {
           std::vector<std::string>{"-tls1", "-cipher", "DEFAULT@SECLEVEL=0"},
           std::vector<std::string>{"-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"},
           std::vector<std::string>{"-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA256"},
           std::vector<std::string>{"-tls1_2", "-cipher", "ECDHE-ECDSA-AES256-SHA"},
           std::vector<std::string>{"-tls1_2", "-cipher", "AES128-GCM-SHA256"},
       }) {
    auto args = cert;
    args.insert(args.end(), extra.begin(), extra.end());
    auto out = connect(args);
    EXPECT_EQ(out.handshake, TlsErrc::handshake_failed) << extra[0] << " " << extra[2];
  }
}

TEST_F(TlsHandshake, PicksItsOwnSuiteOrderAndStillTalksToChaChaOnlyPeers) {
  // OpenSSL's names for the three suites, by Botan name.
  const std::map<std::string, std::string> openssl = {{"AES-256/GCM", "ECDHE-ECDSA-AES256-GCM-SHA384"},
                                                      {"AES-128/GCM", "ECDHE-ECDSA-AES128-GCM-SHA256"},
                                                      {"ChaCha20Poly1305", "ECDHE-ECDSA-CHACHA20-POLY1305"}};
  const auto& order = tls_cipher_preference();
  ASSERT_EQ(order.size(), 3u);
  // The client offers our least preferred suite first: the server's order decides.
  auto args = cert_args(pki.facility_dir(1));
  args.insert(args.end(), {"-tls1_2", "-cipher", openssl.at(order[2]) + ":" + openssl.at(order[1]) + ":" +
                                                      openssl.at(order[0])});
  auto out = connect(args);
  ASSERT_FALSE(out.handshake) << out.handshake.message();
  EXPECT_NE(test::read_file(pki.dir / "s_client.log").find("Cipher is " + openssl.at(order[0])), std::string::npos);
  // A peer that offers only ChaCha20-Poly1305 (a CPU without AES instructions) is served.
  auto chacha = cert_args(pki.facility_dir(1));
  chacha.insert(chacha.end(), {"-tls1_2", "-cipher", "ECDHE-ECDSA-CHACHA20-POLY1305"});
  out = connect(chacha);
  ASSERT_FALSE(out.handshake) << out.handshake.message();
  EXPECT_NE(test::read_file(pki.dir / "s_client.log").find("Cipher is ECDHE-ECDSA-CHACHA20-POLY1305"),
            std::string::npos);
}

TEST_F(TlsHandshake, RefusesRenegotiation) {
  auto args = cert_args(pki.facility_dir(1));
  args.push_back("-tls1_2");
  auto out = connect(args, "R\n");
  ASSERT_FALSE(out.handshake) << out.handshake.message();
  EXPECT_EQ(out.read, TlsErrc::renegotiation_refused);
}

TEST_F(TlsHandshake, TimesOutStalledHandshake) {
  ServerOutcome out;
  serve_one(acc, ctx, out, std::chrono::milliseconds(150));
  asio::ip::tcp::socket raw(ioc);
  raw.connect(acc.local_endpoint());
  const auto start = std::chrono::steady_clock::now();
  run_until(ioc, [&] { return out.done; });
  EXPECT_EQ(out.handshake, TlsErrc::timeout);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
}

TEST_F(TlsHandshake, RefusesHugeCertificateChain) {
  const std::string one = test::read_file(pki.facility_dir(1) / "cert.pem");
  std::string big;
  while (big.size() < (1u << 20)) big += one;
  pki.dir.write("big.pem", big);
  auto args = cert_args(pki.facility_dir(1));
  args.insert(args.end(), {"-cert_chain", (pki.dir / "big.pem").string()});
  auto out = connect(args);
  EXPECT_TRUE(out.handshake == TlsErrc::handshake_too_large || out.handshake == TlsErrc::handshake_failed)
      << out.handshake.message();
  EXPECT_FALSE(out.peer);
}

TEST_F(TlsHandshake, ResumedSessionIsRevalidated) {
  auto args = cert_args(pki.facility_dir(1));
  const auto sess = (pki.dir / "sess.pem").string();
  args.insert(args.end(), {"-tls1_2", "-sess_out", sess});
  ASSERT_FALSE(connect(args).handshake);
  // Resumption works while nothing changed.
  auto again = cert_args(pki.facility_dir(1));
  again.insert(again.end(), {"-tls1_2", "-sess_in", sess});
  auto out = connect(again);
  ASSERT_FALSE(out.handshake) << out.handshake.message();
  EXPECT_NE(test::read_file(pki.dir / "s_client.log").find("Reused"), std::string::npos);
  EXPECT_EQ(out.peer, pki.facility(1));
  // The chain was validated in full once; resumptions recheck it cheaply.
  EXPECT_EQ(ctx->store()->current()->verified_chains(), 1u);
  out = connect(again);
  ASSERT_FALSE(out.handshake) << out.handshake.message();
  EXPECT_EQ(out.peer, pki.facility(1));
  EXPECT_EQ(ctx->store()->current()->verified_chains(), 1u);
  // Revoked meanwhile: the cached session must not let the peer back in.
  auto serial = pki::serial_hex(test::read_file(pki.facility_dir(1) / "cert.pem"));
  ASSERT_TRUE(serial);
  ASSERT_TRUE(pki::ca_revoke(pki.ca_dir(), *serial, Clock::now()));
  ASSERT_TRUE(ctx->store()->reload(Clock::now()));
  out = connect(again);
  EXPECT_EQ(out.handshake, TlsErrc::peer_rejected);
  ASSERT_TRUE(out.error);
  EXPECT_EQ(out.error->code, "certificate_revoked");
}

TEST_F(TlsHandshake, ResumptionOfAVerifiedChainStillChecksDatesAndCrlFreshness) {
  const auto t0 = Clock::now();
  auto t = t0;
  TlsSettings settings;
  settings.clock = [&t] { return t; };
  ctx = TlsContext::create(ctx->store(), settings);
  const auto d = pki.issue("short", pki.facility(1), t0 - std::chrono::hours(1), t0 + std::chrono::hours(2));
  const auto sess = (pki.dir / "sess.pem").string();
  auto args = cert_args(d);
  args.insert(args.end(), {"-tls1_2", "-sess_out", sess});
  ASSERT_FALSE(connect(args).handshake);
  ASSERT_EQ(ctx->store()->current()->verified_chains(), 1u);
  auto again = cert_args(d);
  again.insert(again.end(), {"-tls1_2", "-sess_in", sess});
  t = t0 + std::chrono::hours(1);
  ASSERT_FALSE(connect(again).handshake);
  ASSERT_NE(test::read_file(pki.dir / "s_client.log").find("Reused"), std::string::npos);
  t = t0 + std::chrono::hours(3);  // the peer's certificate has expired
  auto out = connect(again);
  EXPECT_EQ(out.handshake, TlsErrc::peer_rejected);
  ASSERT_TRUE(out.error);
  EXPECT_EQ(out.error->code, "certificate_expired");
  t = t0 + std::chrono::minutes(30);
  ASSERT_FALSE(connect(args).handshake);  // a new session to resume
  t = ctx->store()->current()->crl_next_update() + std::chrono::seconds(1);  // grace 0; checked first
  out = connect(again);
  EXPECT_EQ(out.handshake, TlsErrc::peer_rejected);
  ASSERT_TRUE(out.error);
  EXPECT_EQ(out.error->code, "crl_stale");
}

TEST_F(TlsHandshake, RefusesClientWithoutExtendedMasterSecret) {
  pki.dir.write("no_ems.cnf",
                "openssl_conf = init\n[init]\nssl_conf = ssl\n[ssl]\nsystem_default = sys\n"
                "[sys]\nOptions = -ExtendedMasterSecret\n");
  ::setenv("OPENSSL_CONF", (pki.dir / "no_ems.cnf").c_str(), 1);
  auto args = cert_args(pki.facility_dir(1));
  args.push_back("-tls1_2");
  auto out = connect(args);
  ::unsetenv("OPENSSL_CONF");
  EXPECT_EQ(out.handshake, TlsErrc::handshake_failed);
  ASSERT_TRUE(out.error);
  EXPECT_EQ(out.error->code, "no_extended_master_secret");
}

}  // namespace
}  // namespace hiegate::transport::testing
