// The credential file watch: a changed CRL or certificate takes effect
// without a signal; a broken file keeps the old snapshot and is reported.
#include <gtest/gtest.h>

#include <fstream>

#include "hiegate/transport/credential_watch.hpp"
#include "tls_fixture.hpp"

namespace hiegate::transport::testing {
namespace {

class CredentialWatch : public ::testing::Test {
protected:
  void SetUp() override {
    store = pki.store(pki.facility_dir(0));
    ctx = TlsContext::create(store, TlsSettings{});
    acc.open(asio::ip::tcp::v4());
    acc.bind({asio::ip::make_address("127.0.0.1"), 0});
    acc.listen();
    CredentialWatchOptions o;
    o.debounce = std::chrono::milliseconds(50);
    o.on_reload = [this](const Status& st) { outcomes.push_back(st); };
    auto w = CredentialWatcher::start(ioc, store, o);
    ASSERT_TRUE(w) << w.error().message;
    watcher = std::move(*w);
  }

  /// One handshake from facility `i` through openssl s_client.
  ServerOutcome connect_from(int i) {
    ServerOutcome out;
    serve_one(acc, ctx, out);
    const auto d = pki.facility_dir(i);
    Child child({"openssl", "s_client", "-connect", "127.0.0.1:" + std::to_string(acc.local_endpoint().port()),
                 "-CAfile", (pki.ca_dir() / "ca.crt").string(), "-cert", (d / "cert.pem").string(), "-key",
                 (d / "key.pem").string()},
                "hello\n", pki.dir / "s_client.log");
    run_until(ioc, [&] { return out.done; });
    child.wait();
    return out;
  }

  /// Runs the loop until the watcher reported `n` reload attempts.
  void wait_reloads(std::size_t n) {
    run_until(ioc, [&] { return outcomes.size() >= n; });
    ASSERT_GE(outcomes.size(), n) << "no reload after the file change";
  }

  Pki pki;
  asio::io_context ioc;
  asio::ip::tcp::acceptor acc{ioc};
  std::shared_ptr<CredentialStore> store;
  std::shared_ptr<TlsContext> ctx;
  std::unique_ptr<CredentialWatcher> watcher;
  std::vector<Status> outcomes;
};

TEST_F(CredentialWatch, NewCrlRevokingAPeerTakesEffectWithoutSignal) {
  ASSERT_FALSE(connect_from(1).handshake);
  const auto before = store->current();
  auto serial = pki::serial_hex(test::read_file(pki.facility_dir(1) / "cert.pem"));
  ASSERT_TRUE(serial);
  ASSERT_TRUE(pki::ca_revoke(pki.ca_dir(), *serial, Clock::now()));  // rewrites ca/crl.pem
  wait_reloads(1);
  EXPECT_TRUE(outcomes.back()) << outcomes.back().error().message;
  EXPECT_NE(store->current(), before);
  const auto out = connect_from(1);
  EXPECT_EQ(out.handshake, TlsErrc::peer_rejected);
  ASSERT_TRUE(out.error);
  EXPECT_EQ(out.error->code, "certificate_revoked");
  EXPECT_FALSE(connect_from(0).handshake) << "an unrevoked peer still gets in";
}

TEST_F(CredentialWatch, GarbageCertificateKeepsTheOldCredentials) {
  const auto before = store->current();
  {
    std::ofstream f(pki.facility_dir(0) / "cert.pem", std::ios::trunc);
    f << "-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n";
  }
  wait_reloads(1);
  ASSERT_FALSE(outcomes.back());
  EXPECT_FALSE(outcomes.back().error().code.empty());
  EXPECT_EQ(store->current(), before);
  EXPECT_FALSE(connect_from(1).handshake) << "the old certificate still serves";
}

TEST_F(CredentialWatch, BurstOfChangesReloadsOnceAndOtherFilesAreIgnored) {
  pki.dir.write("ca/unrelated.txt", "x");  // same directory as the CRL, not a credential
  const auto crl = test::read_file(pki.ca_dir() / "crl.pem");
  for (int i = 0; i < 5; ++i) pki.dir.write("ca/crl.pem", crl);
  wait_reloads(1);
  run_until(ioc, [] { return false; }, std::chrono::milliseconds(300));
  EXPECT_EQ(outcomes.size(), 1u);
  EXPECT_TRUE(outcomes.front());
}

TEST_F(CredentialWatch, StopEndsTheWatch) {
  watcher->stop();
  ASSERT_TRUE(pki::ca_crl(pki.ca_dir(), Clock::now()));
  run_until(ioc, [] { return false; }, std::chrono::milliseconds(300));
  EXPECT_TRUE(outcomes.empty());
}

TEST(CredentialWatchStart, MissingDirectoryIsAnError) {
  Pki pki;
  auto store = pki.store(pki.facility_dir(0));
  asio::io_context ioc;
  // Rebuild a store whose CRL directory vanished after loading.
  const auto moved = pki.dir / "ca-moved";
  fs::rename(pki.ca_dir(), moved);
  auto w = CredentialWatcher::start(ioc, store, {});
  ASSERT_FALSE(w);
  EXPECT_EQ(w.error().code, "watch_failed");
}

}  // namespace
}  // namespace hiegate::transport::testing
