// Live RFC 5424 forwarding to a Unix datagram socket: format, no patient
// identifier, and a bounded backlog that is kept and retried while the
// collector is away.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <regex>

#include "support/process.hpp"

#include "audit_fixture.hpp"

namespace hiegate::daemon {
namespace {

using namespace testing;
using test::TempDir;

class Collector {
public:
  explicit Collector(const std::filesystem::path& path) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    timeval tv{5, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~Collector() { ::close(fd_); }
  Collector(const Collector&) = delete;
  Collector& operator=(const Collector&) = delete;
  std::string receive() {
    char buf[8192];
    const auto n = ::recv(fd_, buf, sizeof buf, 0);
    return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
  }

private:
  int fd_ = -1;
};

TEST(AuditSyslog, ForwardsRfc5424WithoutPatientIdentifiers) {
  TempDir dir;
  TestClock clock;
  auto opt = audit_options(dir, clock);
  opt.syslog_socket = (dir / "log.sock").string();
  opt.hostname = "gw1";
  Collector collector(opt.syslog_socket);
  QuietLogger logger;
  auto log = open_audit(opt, make_ring({{1, 's'}}), logger);
  auto r = sample_record(4);
  r.emergency = true;
  r.detail = "free text \"with] quotes";
  ASSERT_TRUE(append_wait(*log, r).ok());
  const auto m = collector.receive();
  // <PRI>1 TIMESTAMP HOSTNAME APP PROCID MSGID [SD]
  const std::regex form(R"(<109>1 \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z gw1 hiegate - decision \[hiegateAudit@32473 .*\])");
  EXPECT_TRUE(std::regex_match(m, form)) << m;
  EXPECT_NE(m.find("seq=\"1\" action=\"R\" outcome=\"4\" user=\"user-1\""), std::string::npos) << m;
  EXPECT_NE(m.find("emergency=\"1\""), std::string::npos) << m;
  EXPECT_EQ(m.find("PATIENT-SECRET"), std::string::npos) << m;
  EXPECT_EQ(m.find("free text"), std::string::npos) << m;
  EXPECT_NE(m.find("patientHash=\""), std::string::npos);
}

TEST(AuditSyslog, BacklogIsBoundedKeptAndRetried) {
  TempDir dir;
  TestClock clock;
  auto opt = audit_options(dir, clock);
  opt.syslog_socket = (dir / "log.sock").string();
  opt.syslog_backlog = 5;
  QuietLogger logger;
  auto log = open_audit(opt, make_ring({{1, 's'}}), logger);
  // No collector yet: appends are still durable at once.
  append_samples(*log, 1, 8);
  auto st = log->forward_stats();
  EXPECT_EQ(st.sent, 0u);
  EXPECT_EQ(st.pending, 5u);
  EXPECT_EQ(st.dropped, 3u);
  Collector collector(opt.syslog_socket);
  std::vector<std::string> got;
  for (int i = 0; i < 5; ++i) got.push_back(collector.receive());
  EXPECT_NE(got[0].find("seq=\"4\""), std::string::npos) << got[0];  // the oldest kept
  EXPECT_NE(got[4].find("seq=\"8\""), std::string::npos) << got[4];
  EXPECT_TRUE(test::eventually([&] { return log->forward_stats().sent == 5; }));
}

}  // namespace
}  // namespace hiegate::daemon
