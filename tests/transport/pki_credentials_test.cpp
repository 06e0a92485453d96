// pki (CA, CSR, CRL) and Credentials snapshot validation.
#include <sys/stat.h>

#include <gtest/gtest.h>

#include "tls_fixture.hpp"

namespace hiegate::transport::testing {
namespace {

TEST(Pki, DevNetworkHasTenDigitCodesAndLoads) {
  Pki p;
  ASSERT_EQ(p.net.facility_codes.size(), 2u);
  for (const auto& c : p.net.facility_codes) EXPECT_TRUE(is_facility_code(c)) << c;
  auto s = p.store(p.net.secretariat_dir);
  EXPECT_EQ(s->current()->identity().kind, PeerIdentity::Kind::secretariat);
  EXPECT_EQ(p.store(p.facility_dir(0))->current()->identity(), p.facility(0));
  struct stat st {};
  ASSERT_EQ(::stat((p.facility_dir(0) / "key.pem").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0400u);
  // Independent check: openssl accepts our chain and CRL.
  EXPECT_EQ(run("openssl verify -crl_check -CAfile " + (p.ca_dir() / "ca.crt").string() + " -CRLfile " +
                (p.ca_dir() / "crl.pem").string() + " " + (p.facility_dir(0) / "cert.pem").string()),
            0);
}

TEST(Pki, CaInitRefusesExistingAndBadNetwork) {
  Pki p;
  EXPECT_EQ(pki::ca_init(p.ca_dir(), "nishitama", 10, Clock::now()).error().code, "file_exists");
  test::TempDir d;
  EXPECT_EQ(pki::ca_init(d / "ca", "Bad Net", 10, Clock::now()).error().code, "bad_network");
}

TEST(Pki, WriteCsrRefusesToOverwriteKey) {
  test::TempDir d;
  const PeerIdentity id{PeerIdentity::Kind::facility, "nishitama", "1312345678"};
  ASSERT_TRUE(pki::write_csr(id, d.path()));
  const std::string key = test::read_file(d / "key.pem");
  EXPECT_EQ(pki::write_csr(id, d.path()).error().code, "file_exists");
  EXPECT_EQ(test::read_file(d / "key.pem"), key);
}

TEST(Pki, IssueRefusesForeignAmbiguousAndRsaRequests) {
  Pki p;
  const auto now = Clock::now();
  const pki::Validity v{now, now + std::chrono::hours(24)};
  auto foreign = pki::make_csr({PeerIdentity::Kind::facility, "othernet", "1312345678"});
  ASSERT_TRUE(foreign);
  EXPECT_EQ(pki::ca_issue(p.ca_dir(), foreign->csr_pem, v).error().code, "foreign_network");
  EXPECT_EQ(pki::ca_issue(p.ca_dir(), "garbage", v).error().code, "bad_csr");

  const auto k = (p.dir / "k.pem").string(), r = (p.dir / "r.pem").string();
  ASSERT_EQ(run("openssl ecparam -name prime256v1 -genkey -noout -out " + k), 0);
  ASSERT_EQ(run("openssl req -new -key " + k + " -subj /CN=x -addext "
                "'subjectAltName=URI:hie://nishitama/facility/1311111111,URI:hie://nishitama/secretariat' -out " + r), 0);
  EXPECT_EQ(pki::ca_issue(p.ca_dir(), test::read_file(r), v).error().code, "ambiguous_identity");
  ASSERT_EQ(run("openssl req -new -newkey rsa:2048 -nodes -keyout " + k + " -subj /CN=x -addext "
                "'subjectAltName=URI:hie://nishitama/facility/1311111111' -out " + r), 0);
  EXPECT_EQ(pki::ca_issue(p.ca_dir(), test::read_file(r), v).error().code, "bad_csr");
  // A CSR asking to be a CA gets an end-entity certificate anyway.
  ASSERT_EQ(run("openssl ecparam -name prime256v1 -genkey -noout -out " + k), 0);
  ASSERT_EQ(run("openssl req -new -key " + k + " -subj /CN=x -addext basicConstraints=critical,CA:TRUE -addext "
                "'subjectAltName=URI:hie://nishitama/facility/1311111111' -out " + r), 0);
  auto cert = pki::ca_issue(p.ca_dir(), test::read_file(r), v);
  ASSERT_TRUE(cert) << cert.error().message;
  p.dir.write("c.pem", *cert);
  EXPECT_NE(run("openssl x509 -in " + (p.dir / "c.pem").string() + " -noout -text | grep -q 'CA:TRUE'"), 0);
}

TEST(Pki, RevokeUnknownAndTwice) {
  Pki p;
  const auto now = Clock::now();
  EXPECT_EQ(pki::ca_revoke(p.ca_dir(), "abcdef", now).error().code, "unknown_serial");
  EXPECT_EQ(pki::ca_revoke(p.ca_dir(), "../x", now).error().code, "bad_argument");
  auto serial = pki::serial_hex(test::read_file(p.facility_dir(0) / "cert.pem"));
  ASSERT_TRUE(serial);
  ASSERT_TRUE(pki::ca_revoke(p.ca_dir(), *serial, now));
  EXPECT_EQ(pki::ca_revoke(p.ca_dir(), *serial, now).error().code, "already_revoked");
  // Our own revoked certificate no longer loads.
  CredentialOptions opts = p.options();
  EXPECT_EQ(Credentials::load(p.paths(p.facility_dir(0)), opts, now).error().code, "certificate_revoked");
}

TEST(Credentials, RefusesMismatchMissingCrlAndForeignCrl) {
  Pki p;
  CredentialOptions opts = p.options();
  const auto now = Clock::now();
  auto paths = p.paths(p.facility_dir(0));
  paths.key = p.facility_dir(1) / "key.pem";
  EXPECT_EQ(Credentials::load(paths, opts, now).error().code, "key_mismatch");
  paths = p.paths(p.facility_dir(0));
  paths.crl = p.dir / "missing.pem";
  EXPECT_EQ(Credentials::load(paths, opts, now).error().code, "crl_missing");
  Pki other;
  paths.crl = other.ca_dir() / "crl.pem";
  EXPECT_EQ(Credentials::load(paths, opts, now).error().code, "bad_crl");
  paths = p.paths(p.facility_dir(0));
  paths.ca = other.ca_dir() / "ca.crt";
  EXPECT_FALSE(Credentials::load(paths, opts, now));
  opts.network = "othernet";
  EXPECT_EQ(Credentials::load(p.paths(p.facility_dir(0)), opts, now).error().code, "foreign_network");
}

// A CRL pulled from the secretariat (CredentialPaths::crl_update) replaces
// the configured one only when the CA signed it and issued it later; a
// foreign, damaged, equal or older one is ignored.
TEST(Credentials, APulledCrlCountsOnlyWhenNewerAndOfTheCa) {
  Pki p;
  CredentialOptions opts = p.options();
  const auto now = Clock::now();
  auto paths = p.paths(p.facility_dir(0));
  const auto configured = test::read_file(paths.crl);
  paths.crl = p.dir.write("crl-configured.pem", configured);  // the CA's own file changes below
  auto base = Credentials::load(paths, opts, now);
  ASSERT_TRUE(base);
  paths.crl_update = p.dir / "crl-pulled.pem";
  // Absent: the configured CRL.
  ASSERT_TRUE(Credentials::load(paths, opts, now));
  // The same CRL, or garbage, or another CA's: not taken.
  Pki other;
  for (const std::string& pem :
       {configured, std::string("-----BEGIN X509 CRL-----\nZ2FyYmFnZQ==\n-----END X509 CRL-----\n"),
        test::read_file(other.ca_dir() / "crl.pem")}) {
    p.dir.write("crl-pulled.pem", pem);
    auto c = Credentials::load(paths, opts, now);
    ASSERT_TRUE(c) << c.error().message;
    EXPECT_EQ((*c)->crl_next_update(), (*base)->crl_next_update());
    EXPECT_FALSE(check_crl_update(**base, pem));
  }
  EXPECT_EQ(check_crl_update(**base, configured).error().code, "crl_not_newer");
  EXPECT_EQ(check_crl_update(**base, test::read_file(other.ca_dir() / "crl.pem")).error().code, "bad_crl");
  // The CA revokes facility 1 in a newer CRL valid for 60 days: taken.
  auto serial = pki::serial_hex(test::read_file(p.facility_dir(1) / "cert.pem"));
  ASSERT_TRUE(serial);
  ASSERT_TRUE(pki::ca_revoke(p.ca_dir(), *serial, now + std::chrono::seconds(5), 60));
  const auto newer = test::read_file(p.ca_dir() / "crl.pem");
  EXPECT_TRUE(check_crl_update(**base, newer));
  p.dir.write("crl-pulled.pem", newer);
  auto c = Credentials::load(paths, opts, now);
  ASSERT_TRUE(c);
  EXPECT_GT((*c)->crl_next_update(), (*base)->crl_next_update() + std::chrono::hours(24 * 20));
}

// Under systemd the key may stay root-only: the unit hands it over as the
// credential tls-key, read when key.pem itself cannot be. The unit's
// "absent" stand-in is no key; a handed-over key older than a renewed
// certificate says to restart.
TEST(Credentials, TheKeyMayComeFromTheServiceCredential) {
  Pki p;
  CredentialOptions opts = p.options();
  const auto now = Clock::now();
  auto paths = p.paths(p.facility_dir(0));
  paths.key_credential = p.dir / "creds" / "tls-key";
  fs::create_directories(paths.key_credential.parent_path());
  fs::copy_file(paths.key, paths.key_credential);
  paths.key = p.dir / "unreadable" / "key.pem";  // what the service user cannot open
  auto loaded = Credentials::load(paths, opts, now);
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ((*loaded)->identity(), p.facility(0));

  p.dir.write("creds/tls-key", "absent");
  auto absent = Credentials::load(paths, opts, now);
  ASSERT_FALSE(absent);
  EXPECT_EQ(absent.error().code, "file_missing");
  EXPECT_NE(absent.error().message.find(paths.key.string()), std::string::npos) << absent.error().message;

  // A renewed certificate (here: facility 1's) with the key handed over at start.
  fs::remove(paths.key_credential);
  fs::copy_file(p.facility_dir(1) / "key.pem", paths.key_credential);
  auto old = Credentials::load(paths, opts, now);
  ASSERT_FALSE(old);
  EXPECT_EQ(old.error().code, "key_mismatch");
  EXPECT_NE(old.error().message.find("restart the service"), std::string::npos) << old.error().message;

  // A readable key.pem is preferred: a renewal that makes it readable takes
  // effect without a restart.
  paths.key = p.facility_dir(0) / "key.pem";
  EXPECT_TRUE(Credentials::load(paths, opts, now));
}

TEST(Credentials, ExpectedIdentityIsCheckedOnEveryLoad) {
  Pki p;
  const auto now = Clock::now();
  CredentialOptions opts = p.options();
  opts.expected_identity = p.facility(0);
  EXPECT_EQ(Credentials::load(p.paths(p.facility_dir(1)), opts, now).error().code, "certificate_mismatch");
  EXPECT_EQ(Credentials::load(p.paths(p.net.secretariat_dir), opts, now).error().code, "certificate_mismatch");
  opts.expected_identity->network = "othernet";
  EXPECT_EQ(Credentials::load(p.paths(p.facility_dir(0)), opts, now).error().code, "bad_config");

  // Our files live in `mine`; renewals are copied over them, then reloaded.
  const auto mine = p.dir / "mine";
  fs::create_directories(mine);
  const auto install = [&](const fs::path& from) {
    p.dir.write("mine/cert.pem", test::read_file(from / "cert.pem"));
    p.dir.write("mine/key.pem", test::read_file(from / "key.pem"));
  };
  install(p.facility_dir(0));
  CredentialOptions mine_opts;
  mine_opts.expected_identity = p.facility(0);
  auto store = p.store(mine, mine_opts);
  const auto first = store->current();

  install(p.facility_dir(1));  // another facility's renewal
  auto st = store->reload(now);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, "certificate_mismatch");
  EXPECT_NE(st.error().message.find(p.facility(0).uri()), std::string::npos) << st.error().message;
  EXPECT_EQ(store->current(), first);
  install(p.net.secretariat_dir);  // the secretariat's
  EXPECT_EQ(store->reload(now).error().code, "certificate_mismatch");
  EXPECT_EQ(store->current(), first);
  const auto foreign = p.openssl_issue("foreign", "/CN=" + p.net.facility_codes[0],
                                       "subjectAltName=URI:hie://othernet/facility/" + p.net.facility_codes[0]);
  install(foreign);  // same code, another network
  EXPECT_FALSE(store->reload(now));
  EXPECT_EQ(store->current(), first);

  install(p.issue("renewed", p.facility(0), now - std::chrono::hours(1), now + std::chrono::hours(48)));
  ASSERT_TRUE(store->reload(now));
  EXPECT_NE(store->current(), first);
  EXPECT_EQ(store->current()->identity(), p.facility(0));
}

TEST(Credentials, WarnsOnExpiryAndStaleCrl) {
  Pki p;
  const auto now = Clock::now();
  auto c = p.store(p.facility_dir(0))->current();
  EXPECT_TRUE(c->warnings(now).empty());
  const auto near_end = c->not_after() - std::chrono::hours(24);
  const auto w = c->warnings(near_end);
  ASSERT_FALSE(w.empty());
  EXPECT_NE(w.front().find("expires"), std::string::npos);
  EXPECT_FALSE(c->crl_stale(now));
  EXPECT_TRUE(c->crl_stale(c->crl_next_update() + std::chrono::seconds(1)));
  EXPECT_FALSE(c->crl_usable(c->crl_next_update() + std::chrono::seconds(1)));  // grace 0
}

}  // namespace
}  // namespace hiegate::transport::testing
