// verify() names the first record that was changed, removed, inserted or
// reordered, any forged checkpoint, and a truncated tail; audit.db is
// manipulated directly with SQL, as an intruder with file access would.
#include "audit_fixture.hpp"

namespace hiegate::daemon {
namespace {

using namespace testing;
using test::TempDir;

class AuditTamper : public AuditTrailTest {
protected:
  void SetUp() override { write_samples(25); }  // checkpoints after 10, 20 and (on close) 25
  AuditVerifyReport verify_now() { return verify(opt_, keys_); }
};

void expect_first(const AuditVerifyReport& rep, const std::string& kind, std::uint64_t seq) {
  ASSERT_FALSE(rep.findings.empty()) << "tampering not detected";
  EXPECT_EQ(rep.findings[0].kind, kind) << rep.findings[0].message;
  EXPECT_EQ(rep.findings[0].seq, seq) << rep.findings[0].message;
}

TEST_F(AuditTamper, IntactTrailVerifies) {
  const auto rep = verify_now();
  EXPECT_TRUE(rep.ok()) << rep.findings[0].message;
  EXPECT_EQ(rep.records, 25u);
  EXPECT_EQ(rep.checkpoints, 3u);
  EXPECT_EQ(rep.first_seq, 1u);
  EXPECT_EQ(rep.last_seq, 25u);
}

TEST_F(AuditTamper, EditedPlaintextColumnIsNamed) {
  tamper(opt_, "UPDATE audit_records SET outcome = 0 WHERE seq = 8");
  const auto rep = verify_now();
  expect_first(rep, "record_changed", 8);
  EXPECT_NE(rep.findings[0].message.find("outcome"), std::string::npos);
  EXPECT_EQ(rep.findings.size(), 1u);
}

TEST_F(AuditTamper, EditedSealedBodyIsNamed) {
  // One byte of the sealed body changed (to 0x00, or 0x01 if it was 0x00:
  // the body is random-looking, so a fixed value would be no change once in
  // 256 runs).
  tamper(opt_,
         "UPDATE audit_records SET body = substr(body, 1, 60) || "
         "CASE WHEN substr(body, 61, 1) = X'00' THEN X'01' ELSE X'00' END || substr(body, 62) WHERE seq = 13");
  expect_first(verify_now(), "record_changed", 13);
}

TEST_F(AuditTamper, EditedChainHashIsNamed) {
  tamper(opt_, "UPDATE audit_records SET hash = zeroblob(32) WHERE seq = 4");
  expect_first(verify_now(), "record_changed", 4);
}

TEST_F(AuditTamper, DeletedRecordIsNamed) {
  tamper(opt_, "DELETE FROM audit_records WHERE seq = 12");
  const auto rep = verify_now();
  expect_first(rep, "record_removed", 12);
  EXPECT_NE(rep.findings[0].message.find("record 12 removed"), std::string::npos) << rep.findings[0].message;
}

TEST_F(AuditTamper, DeletedFirstRecordIsNamed) {
  tamper(opt_, "DELETE FROM audit_records WHERE seq = 1");
  expect_first(verify_now(), "record_removed", 1);
}

TEST_F(AuditTamper, InsertedRecordIsNamed) {
  // Make room at position 7 and copy record 3 there.
  tamper(opt_,
         "UPDATE audit_records SET seq = seq + 1000 WHERE seq >= 7;"
         "UPDATE audit_records SET seq = seq - 999 WHERE seq >= 1000;"
         "INSERT INTO audit_records SELECT 7, time_ms, event, action, outcome, emergency, key_version, patient_h,"
         " user_h, body, hash FROM audit_records WHERE seq = 3;");
  const auto rep = verify_now();
  expect_first(rep, "record_inserted", 3);
  EXPECT_NE(rep.findings[0].message.find("position 7"), std::string::npos) << rep.findings[0].message;
}

TEST_F(AuditTamper, SwappedRecordsAreNamed) {
  const std::string cols = "time_ms, event, action, outcome, emergency, key_version, patient_h, user_h, body, hash";
  tamper(opt_, "CREATE TABLE t AS SELECT * FROM audit_records WHERE seq IN (15, 16);"
               "UPDATE audit_records SET (" + cols + ") = (SELECT " + cols + " FROM t WHERE t.seq = 16) WHERE seq = 15;"
               "UPDATE audit_records SET (" + cols + ") = (SELECT " + cols + " FROM t WHERE t.seq = 15) WHERE seq = 16;"
               "DROP TABLE t;");
  const auto rep = verify_now();
  expect_first(rep, "records_reordered", 15);
  for (const auto& f : rep.findings) EXPECT_NE(f.kind, "record_removed") << f.message;
}

TEST_F(AuditTamper, ForgedCheckpointIsNamed) {
  tamper(opt_, "UPDATE audit_checkpoints SET head = randomblob(32) WHERE seq = 20");
  const auto rep = verify_now();
  expect_first(rep, "checkpoint_invalid", 20);
  EXPECT_EQ(rep.findings.size(), 1u);
}

TEST_F(AuditTamper, CheckpointOfAnotherKeyIsRejected) {
  // A checkpoint validly signed, but by someone else's key.
  const auto other = make_ring({{1, 'z'}});
  TempDir dir2;
  auto opt2 = audit_options(dir2, clock_);
  {
    auto log = open_audit(opt2, other, logger_);
    append_samples(*log, 1, 10);
  }
  auto theirs = open_reader(opt2, other)->checkpoints();
  ASSERT_TRUE(theirs.ok());
  auto rep = reader()->verify_against_external(*theirs);
  ASSERT_TRUE(rep.ok());
  expect_first(*rep, "checkpoint_invalid", 10);
}

TEST_F(AuditTamper, TruncatedTailIsReportedAsSuch) {
  tamper(opt_, "DELETE FROM audit_records WHERE seq > 22");
  const auto rep = verify_now();
  expect_first(rep, "tail_truncated", 23);
  EXPECT_NE(rep.findings[0].message.find("records 23..25"), std::string::npos) << rep.findings[0].message;
  EXPECT_EQ(rep.findings.size(), 1u);
}

TEST_F(AuditTamper, WholeRewriteIsCaughtByExternalCheckpoints) {
  auto saved = reader()->checkpoints();
  ASSERT_TRUE(saved.ok());
  std::vector<AuditCheckpoint> external;
  for (const auto& c : *saved) {
    auto back = checkpoint_from_json(checkpoint_to_json(c));
    ASSERT_TRUE(back.ok()) << back.error().message;
    external.push_back(*back);
  }
  // The intruder deletes records and every checkpoint past record 18, so the
  // local trail alone looks intact...
  tamper(opt_, "DELETE FROM audit_records WHERE seq > 18; DELETE FROM audit_checkpoints WHERE seq > 18;");
  EXPECT_TRUE(verify_now().ok());
  // ...but not against the checkpoints kept outside.
  auto rep = reader()->verify_against_external(external);
  ASSERT_TRUE(rep.ok());
  expect_first(*rep, "tail_truncated", 19);
}

TEST_F(AuditTamper, ExternalCheckpointWithAlteredHeadIsInvalid) {
  auto saved = reader()->checkpoints();
  ASSERT_TRUE(saved.ok());
  auto forged = (*saved)[0];
  forged.head[0] ^= 1;
  auto rep = reader()->verify_against_external({forged});
  ASSERT_TRUE(rep.ok());
  expect_first(*rep, "checkpoint_invalid", 10);
  EXPECT_FALSE(checkpoint_from_json("{\"seq\":1}").ok());
}

}  // namespace
}  // namespace hiegate::daemon
