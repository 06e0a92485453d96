// The logic behind `hiegatectl audit ...` (audit_commands), on a real trail.
#include <sstream>

#include "audit_fixture.hpp"
#include "hiegate/daemon/audit_commands.hpp"

namespace hiegate::daemon {
namespace {

using namespace testing;
using test::TempDir;
namespace ac = audit_commands;

class AuditCommands : public AuditTrailTest {
protected:
  void SetUp() override { write_samples(14); }
  std::ostringstream out_, err_;
};

TEST_F(AuditCommands, VerifyReportsIntactAndThenTheFirstProblem) {
  EXPECT_EQ(ac::verify(*reader(), std::nullopt, out_, err_), 0);
  EXPECT_NE(out_.str().find("records 1..14 (14 stored), 2 checkpoints"), std::string::npos) << out_.str();
  EXPECT_NE(out_.str().find("ok: the audit trail is intact"), std::string::npos);
  tamper(opt_, "DELETE FROM audit_records WHERE seq = 6");
  std::ostringstream out2;
  EXPECT_EQ(ac::verify(*reader(), std::nullopt, out2, err_), 1);
  EXPECT_NE(out2.str().find("the first is at record 6"), std::string::npos) << out2.str();
  EXPECT_NE(out2.str().find("record_removed at 6"), std::string::npos) << out2.str();
}

TEST_F(AuditCommands, CheckpointsRoundTripAndVerifyExternally) {
  ASSERT_EQ(ac::checkpoints(*reader(), out_, err_), 0);
  std::istringstream in("\n" + out_.str());
  auto cps = ac::read_checkpoints(in);
  ASSERT_TRUE(cps.ok()) << cps.error().message;
  ASSERT_EQ(cps->size(), 2u);
  EXPECT_EQ((*cps)[0].seq, 10u);
  EXPECT_EQ((*cps)[1].seq, 14u);
  std::ostringstream ok;
  EXPECT_EQ(ac::verify(*reader(), *cps, ok, err_), 0) << ok.str();
  EXPECT_NE(ok.str().find("2 external checkpoints"), std::string::npos);
  tamper(opt_, "DELETE FROM audit_records WHERE seq > 12; DELETE FROM audit_checkpoints WHERE seq > 12;");
  std::ostringstream bad;
  EXPECT_EQ(ac::verify(*reader(), *cps, bad, err_), 1);
  EXPECT_NE(bad.str().find("tail_truncated at 13"), std::string::npos) << bad.str();
  std::istringstream junk("{\"seq\": 1}\n");
  auto r = ac::read_checkpoints(junk);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("line 1"), std::string::npos);
}

TEST_F(AuditCommands, ReportPrintsOneLinePerAccess) {
  AuditQuery q;
  q.patient = "PATIENT-SECRET-3";  // samples 3, 8, 13
  ASSERT_EQ(ac::report(*reader(), q, out_, err_), 0);
  const auto s = out_.str();
  EXPECT_NE(s.find("#3 document_read action=R outcome=0 user=user-0 role=physician"), std::string::npos) << s;
  EXPECT_NE(s.find("#8 decision action=R outcome=4 user=user-2"), std::string::npos) << s;
  EXPECT_NE(s.find("reason=consent_missing documents=DOC-8"), std::string::npos) << s;
  EXPECT_NE(s.find("#13 "), std::string::npos) << s;
  EXPECT_NE(s.find("3 record(s)"), std::string::npos) << s;
}

TEST_F(AuditCommands, ExportWritesEveryRecordAsJsonLines) {
  ASSERT_EQ(ac::export_jsonl(*reader(), false, out_, err_), 0);
  const auto s = out_.str();
  EXPECT_EQ(std::count(s.begin(), s.end(), '\n'), 14);
  EXPECT_EQ(s.find("PATIENT-SECRET"), std::string::npos);
  std::ostringstream with;
  ASSERT_EQ(ac::export_jsonl(*reader(), true, with, err_), 0);
  EXPECT_NE(with.str().find("PATIENT-SECRET-1"), std::string::npos);
}

// The same records as RFC 5424 messages, octet-counted: each frame's length
// is exact, the message is what the live forwarder sends, and no patient id
// appears (only its keyed hash).
TEST_F(AuditCommands, ExportWritesEveryRecordAsOctetCountedSyslog) {
  ASSERT_EQ(ac::export_syslog(*reader(), "gw-test", out_, err_), 0) << err_.str();
  const std::string s = out_.str();
  EXPECT_EQ(s.find("PATIENT-SECRET"), std::string::npos);
  std::size_t at = 0;
  int frames = 0;
  while (at < s.size()) {
    const auto sp = s.find(' ', at);
    ASSERT_NE(sp, std::string::npos);
    const auto len = std::stoul(s.substr(at, sp - at));
    const std::string m = s.substr(sp + 1, len);
    ASSERT_EQ(m.size(), len);
    EXPECT_EQ(m.rfind("<", 0), 0u) << m;
    EXPECT_NE(m.find(">1 "), std::string::npos) << m;  // RFC 5424 version 1
    EXPECT_NE(m.find(" gw-test hiegate - "), std::string::npos) << m;
    EXPECT_NE(m.find("seq=\"" + std::to_string(frames + 1) + "\""), std::string::npos) << m;
    at = sp + 1 + len;
    ++frames;
  }
  EXPECT_EQ(frames, 14);
}

}  // namespace
}  // namespace hiegate::daemon
