// RFC 5425 forwarding to a TLS collector (an `openssl s_server` on
// 127.0.0.1): octet-counted frames arrive in order, records queued while the
// collector is down arrive once it is up, and a collector whose certificate
// does not chain to the configured CA gets nothing.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <regex>

#include "support/process.hpp"

#include "audit_fixture.hpp"

namespace hiegate::daemon {
namespace {

using namespace testing;
using test::TempDir;

/// A CA (ca.pem) and a collector certificate for "localhost" it issued
/// (cert.pem, key.pem), as a facility's syslog collector would have.
void make_cert(const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  const auto p = [&](const char* f) { return (dir / f).string(); };
  const std::vector<std::vector<std::string>> steps = {
      {"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
       p("ca.key"), "-out", p("ca.pem"), "-days", "2", "-subj", "/CN=test collector CA"},
      {"openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
       p("key.pem"), "-out", p("req.pem"), "-subj", "/CN=localhost"},
      {"/bin/sh", "-c", "printf 'subjectAltName=DNS:localhost\\nextendedKeyUsage=serverAuth\\n' > " + p("ext.cnf")},
      {"openssl", "x509", "-req", "-in", p("req.pem"), "-CA", p("ca.pem"), "-CAkey", p("ca.key"),
       "-CAcreateserial", "-days", "2", "-extfile", p("ext.cnf"), "-out", p("cert.pem")}};
  for (const auto& argv : steps) {
    const auto r = test::run(argv);
    ASSERT_EQ(r.status, 0) << r.output;
  }
}

/// `openssl s_server` printing what it receives to `out`. Its stdin is a
/// FIFO held open by the test (s_server ends a session at stdin EOF).
class TlsCollector {
public:
  TlsCollector(const std::filesystem::path& pki, std::uint16_t port, const std::filesystem::path& out)
      : fifo_(out.string() + ".in") {
    ::mkfifo(fifo_.c_str(), 0600);
    hold_ = ::open(fifo_.c_str(), O_RDWR | O_CLOEXEC);
    const std::string cmd = "exec openssl s_server -quiet -accept 127.0.0.1:" + std::to_string(port) + " -cert " +
                            (pki / "cert.pem").string() + " -key " + (pki / "key.pem").string() + " < " + fifo_;
    child_ = std::make_unique<test::Child>(std::vector<std::string>{"/bin/sh", "-c", cmd},
                                           std::vector<std::string>{}, out);
  }
  ~TlsCollector() {
    child_.reset();
    ::close(hold_);
    ::unlink(fifo_.c_str());
  }
  TlsCollector(const TlsCollector&) = delete;
  TlsCollector& operator=(const TlsCollector&) = delete;

private:
  std::string fifo_;
  int hold_ = -1;
  std::unique_ptr<test::Child> child_;
};

/// The RFC 6587 frames "LEN SP MSG" in `data`, in order (stops at anything else).
std::vector<std::string> frames(const std::string& data) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos < data.size()) {
    std::size_t sp = data.find(' ', pos);
    if (sp == std::string::npos || sp == pos) break;
    const std::string len = data.substr(pos, sp - pos);
    if (len.find_first_not_of("0123456789") != std::string::npos) break;
    const std::size_t n = std::stoul(len);
    if (sp + 1 + n > data.size()) break;
    out.push_back(data.substr(sp + 1, n));
    pos = sp + 1 + n;
  }
  return out;
}

AuditOptions tls_options(const TempDir& dir, const TestClock& clock, std::uint16_t port,
                         const std::filesystem::path& ca) {
  auto opt = audit_options(dir, clock);
  opt.syslog_tls_host = "localhost";
  opt.syslog_tls_port = port;
  opt.syslog_ca = ca;
  opt.hostname = "gw1";
  return opt;
}

TEST(AuditSyslogTls, QueuedWhileDownThenDeliveredAsOctetCountedFrames) {
  TempDir dir;
  make_cert(dir / "pki");
  TestClock clock;
  const auto port = test::free_port();
  QuietLogger logger;
  auto log = open_audit(tls_options(dir, clock, port, dir / "pki" / "ca.pem"), make_ring({{1, 's'}}), logger);
  ASSERT_TRUE(log);
  // The collector is down: appends are durable at once, the copies wait.
  append_samples(*log, 1, 3);
  ASSERT_TRUE(test::eventually([&] { return !log->forward_stats().last_error.empty(); }));
  EXPECT_EQ(log->forward_stats().sent, 0u);
  EXPECT_EQ(log->forward_stats().pending, 3u);

  const auto out = dir / "collector.out";
  TlsCollector collector(dir / "pki", port, out);
  ASSERT_TRUE(test::eventually([&] { return log->forward_stats().sent == 3; })) << log->forward_stats().last_error;
  append_samples(*log, 4, 2);
  ASSERT_TRUE(test::eventually([&] { return frames(test::read_file(out)).size() == 5; })) << test::read_file(out);
  const auto got = frames(test::read_file(out));
  const std::regex form(R"re(<\d+>1 \S+ gw1 hiegate - \S+ \[hiegateAudit@32473 seq="(\d+)" .*\])re");
  for (std::size_t i = 0; i < got.size(); ++i) {
    std::smatch m;
    ASSERT_TRUE(std::regex_match(got[i], m, form)) << got[i];
    EXPECT_EQ(m[1].str(), std::to_string(i + 1));
    EXPECT_EQ(got[i].find("PATIENT-SECRET"), std::string::npos);
  }
  EXPECT_EQ(log->forward_stats().pending, 0u);
}

TEST(AuditSyslogTls, CollectorNotSignedByTheConfiguredCaGetsNothing) {
  TempDir dir;
  make_cert(dir / "pki");
  make_cert(dir / "other");
  TestClock clock;
  const auto port = test::free_port();
  const auto out = dir / "collector.out";
  TlsCollector collector(dir / "pki", port, out);
  QuietLogger logger;
  auto log = open_audit(tls_options(dir, clock, port, dir / "other" / "ca.pem"), make_ring({{1, 's'}}), logger);
  ASSERT_TRUE(log);
  append_samples(*log, 1, 2);
  ASSERT_TRUE(test::eventually([&] {
    return log->forward_stats().last_error.find("TLS") != std::string::npos;
  })) << log->forward_stats().last_error;
  EXPECT_EQ(log->forward_stats().sent, 0u);
  EXPECT_EQ(log->forward_stats().pending, 2u);
  EXPECT_TRUE(frames(test::read_file(out)).empty());
}

TEST(AuditSyslogTls, UnreadableCaRefusesToOpen) {
  TempDir dir;
  TestClock clock;
  QuietLogger logger;
  auto r = AuditLog::open(tls_options(dir, clock, 6514, dir / "missing.pem"), make_ring({{1, 's'}}), logger);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "config_invalid");
}

}  // namespace
}  // namespace hiegate::daemon
