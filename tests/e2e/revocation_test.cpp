// A facility whose certificate the regional CA revokes while the network
// runs: once the new CRL replaces the old file (the gateways watch it), that
// facility's new connections are refused both ways and fetches from it fail,
// while the other facilities keep working with each other.
#include "e2e/e2e_kit.hpp"
#include "hiegate/transport/pki.hpp"

namespace hiegate::test::e2e {
namespace {

using namespace std::chrono_literals;


std::size_t count(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1)) ++n;
  return n;
}

TEST(Revocation, ARevokedPeerIsRefusedAfterTheCrlIsReplacedAndOthersKeepWorking) {
  Pki pki(3);
  Secretariat sec;
  const std::string a = facility(1), b = facility(2), c = facility(3);
  std::map<std::string, std::uint16_t> ports = {{a, free_port()}, {b, free_port()}, {c, free_port()}};
  std::map<std::string, std::unique_ptr<Gateway>> gw;
  for (const auto& [code, port] : ports) {
    gw[code] = make_gateway(pki, sec, code, port, ports);
    gw[code]->start();
    sec.deliver(*gw[code], 1, json::array());
    ASSERT_NO_FATAL_FAILURE(add_user(*gw[code], "clerk-1", "clerk"));
    ASSERT_NO_FATAL_FAILURE(add_user(*gw[code], "dr-sato", "physician"));
    for (const char* n : {"-1", "-2"}) {
      ASSERT_EQ(publish(*gw[code], code + n, kPatient, R"({"resourceType":"Bundle","type":"document"})").status, 200);
    }
    ASSERT_NO_FATAL_FAILURE(consent(*gw[code], kPatient));
  }
  // Before: A and C fetch from B and from each other (connections now pooled).
  ASSERT_EQ(fetch(*gw[a], b, b + "-1").status, 200);
  ASSERT_EQ(fetch(*gw[a], c, c + "-1").status, 200);
  ASSERT_EQ(fetch(*gw[c], a, a + "-1").status, 200);

  // The CA revokes B's certificate and publishes the CRL over the old file.
  const auto serial = transport::pki::serial_hex(read_file(pki.dir() / "facilities" / b / "cert.pem"));
  ASSERT_TRUE(serial);
  const auto r = run({binary("hiegate-secretariat").string(), "ca", "revoke", *serial, "--dir",
                      (pki.dir() / "ca").string()});
  ASSERT_EQ(r.status, 0) << r.output;
  std::filesystem::copy_file(pki.dir() / "ca" / "crl.pem", pki.dir() / "crl.pem.new");
  std::filesystem::rename(pki.dir() / "crl.pem.new", pki.dir() / "crl.pem");
  for (const auto& code : {a, c}) {
    EXPECT_TRUE(wait_for_line(gw[code]->dir() / "hiegated.log", "TLS credentials reloaded", 10s))
        << code << "\n" << gw[code]->log();
  }

  // A fetch from B fails (A no longer accepts B's certificate) and so does a
  // listing's part from B; C still answers.
  auto f = fetch(*gw[a], b, b + "-2");
  EXPECT_NE(f.status, 200) << f.body;
  EXPECT_FALSE(error_code(f).empty()) << f.body;
  EXPECT_EQ(f.body.find("content_base64"), std::string::npos);
  EXPECT_EQ(fetch(*gw[a], c, c + "-2").status, 200);
  const auto list = gw[a]->call("GET", std::string("/v1/patients/") + kPatient + "/documents",
                                {{"X-HIE-User", "dr-sato"}, {"X-HIE-Purpose", "treatment"}});
  ASSERT_EQ(list.status, 200) << list.body;
  const json listed = json::parse(list.body);
  for (const auto& e : listed["facilities"]) {
    if (e["facility"] == b) {
      EXPECT_NE(e["status"], "answered") << e;
    } else if (e["facility"] == c) {
      EXPECT_EQ(e["status"], "answered") << e;
    }
  }
  // B's new connections are refused by A and C; C and A keep serving each other.
  EXPECT_NE(fetch(*gw[b], a, a + "-2").status, 200);
  EXPECT_NE(fetch(*gw[b], c, c + "-2").status, 200);
  EXPECT_NE(fetch(*gw[c], b, b + "-1").status, 200);
  EXPECT_EQ(fetch(*gw[c], a, a + "-2").status, 200);

  // A reload by signal (SIGHUP) reads the same CRL: the revocation stays in force.
  const std::size_t reloads = count(gw[a]->log(), "TLS credentials reloaded");
  gw[a]->process().signal(SIGHUP);
  EXPECT_TRUE(eventually([&] { return count(gw[a]->log(), "TLS credentials reloaded") > reloads; }, 5s))
      << gw[a]->log();
  EXPECT_NE(fetch(*gw[a], b, b + "-2").status, 200);
  EXPECT_EQ(fetch(*gw[a], c, c + "-1").status, 200);
  for (auto& [code, g] : gw) EXPECT_EQ(g->stop(), 0) << code;
}

}  // namespace
}  // namespace hiegate::test::e2e
