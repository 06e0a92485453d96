// The lookup index behind reports by patient and user: written in segments
// (with each checkpoint, or when a segment is full), a tail found by its
// columns, rebuilt after a crash, upgraded from a trail without it, and
// checked by verification.
#include "audit_fixture.hpp"

namespace hiegate::daemon {
namespace {

using namespace testing;

std::vector<std::uint64_t> seqs_of(const Result<std::vector<AuditEntry>>& r) {
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  std::vector<std::uint64_t> out;
  if (r.ok()) {
    for (const auto& e : *r) out.push_back(e.seq);
  }
  return out;
}

// sample_record(i) is record i+1 here (append_samples from 0): patient i%5, user i%3.
std::vector<std::uint64_t> expected_patient(int n, int p) {
  std::vector<std::uint64_t> out;
  for (int i = 0; i < n; ++i) {
    if (i % 5 == p) out.push_back(static_cast<std::uint64_t>(i) + 1);
  }
  return out;
}

AuditQuery by_patient(int p) {
  AuditQuery q;
  q.patient = "PATIENT-SECRET-" + std::to_string(p);
  return q;
}

class AuditLookup : public AuditTrailTest {
protected:
  std::int64_t scalar(const std::string& sql) {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open((opt_.dir / "audit.db").c_str(), &db), SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr), SQLITE_OK);
    const std::int64_t v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
  }
};

TEST_F(AuditLookup, ReportsSpanSegmentsAndTheOpenTail) {
  opt_ = audit_options(dir_, clock_);  // checkpoint (and segment) every 10 records
  auto log = open_audit(opt_, keys_, logger_);
  ASSERT_TRUE(log);
  append_samples(*log, 0, 27);  // segments 1..10, 11..20; 21..27 only in the tail
  EXPECT_EQ(seqs_of(log->query(by_patient(1))), expected_patient(27, 1));
  EXPECT_EQ(scalar("SELECT v FROM audit_meta WHERE k = 'indexed_seq'"), 20);
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM audit_segments"), 2);
  AuditQuery q;
  q.user = "user-2";
  q.patient = "PATIENT-SECRET-2";  // i%3 == 2 and i%5 == 2: i = 2, 17
  EXPECT_EQ(seqs_of(log->query(q)), (std::vector<std::uint64_t>{3, 18}));
}

TEST_F(AuditLookup, AFullSegmentIsWrittenWithoutACheckpoint) {
  opt_ = audit_options(dir_, clock_);
  opt_.checkpoint_every = 1'000'000;
  opt_.durable = false;
  const int n = static_cast<int>(4096 + 5);
  {
    auto log = open_audit(opt_, keys_, logger_);
    ASSERT_TRUE(log);
    append_samples(*log, 0, n);
    EXPECT_EQ(scalar("SELECT v FROM audit_meta WHERE k = 'indexed_seq'"), 4096);
    EXPECT_EQ(scalar("SELECT COUNT(*) FROM audit_checkpoints"), 0);
    EXPECT_EQ(seqs_of(log->query(by_patient(3))), expected_patient(n, 3));
  }
  EXPECT_TRUE(verify(opt_, keys_).ok());
}

TEST_F(AuditLookup, TheTailLostInACrashIsRebuiltFromTheRecords) {
  write_samples(25);  // closed: segments end at 10, 20 and 25 (the closing checkpoint)
  // As if the process had died before writing its last segment.
  tamper(opt_, "DELETE FROM audit_lookup WHERE seg = 25; DELETE FROM audit_segments WHERE seg = 25;"
               "UPDATE audit_meta SET v = '20' WHERE k = 'indexed_seq';");
  {
    auto log = open_audit(opt_, keys_, logger_);
    ASSERT_TRUE(log);
    append_samples(*log, 26, 3);  // records 26..28
    std::vector<std::uint64_t> want;
    for (int i = 1; i <= 25; ++i) {
      if (i % 5 == 4) want.push_back(static_cast<std::uint64_t>(i));  // write_samples: record i is sample i
    }
    for (int i = 26; i <= 28; ++i) {
      if (i % 5 == 4) want.push_back(static_cast<std::uint64_t>(i));
    }
    EXPECT_EQ(seqs_of(log->query(by_patient(4))), want);
  }
  const auto rep = verify(opt_, keys_);
  EXPECT_TRUE(rep.ok()) << rep.findings[0].message;
  EXPECT_EQ(scalar("SELECT v FROM audit_meta WHERE k = 'indexed_seq'"), 28);
}

TEST_F(AuditLookup, ARecordRemovedFromTheIndexIsFoundByVerify) {
  write_samples(25);
  // Hide the accesses to patient 2 in the first segment (records 2 and 7).
  tamper(opt_, "DELETE FROM audit_lookup WHERE seg = 10 AND kind = 1 AND seqs = x'00000000000000020000000000000007';");
  ASSERT_EQ(scalar("SELECT COUNT(*) FROM audit_lookup WHERE seg = 10 AND kind = 1"), 4);
  const auto rep = verify(opt_, keys_);
  ASSERT_EQ(rep.findings.size(), 2u);
  EXPECT_EQ(rep.findings[0].kind, "index_changed");
  EXPECT_EQ(rep.findings[0].seq, 2u);
  EXPECT_NE(rep.findings[0].message.find("patient lookup index"), std::string::npos) << rep.findings[0].message;
  EXPECT_EQ(rep.findings[1].seq, 7u);
}

TEST_F(AuditLookup, AnIndexEntryForAMissingRecordFailsTheReportClosed) {
  write_samples(25);
  tamper(opt_, "DELETE FROM audit_records WHERE seq = 12;");  // patient 2, segment 20
  auto r = reader()->query(by_patient(2));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "record_corrupt");
  EXPECT_NE(r.error().message.find("12"), std::string::npos) << r.error().message;
}

TEST_F(AuditLookup, ATrailWithoutTheIndexIsReadThenUpgraded) {
  write_samples(25);
  // The first format: per-record indexes on the key columns, no segments.
  tamper(opt_, "DROP TABLE audit_lookup; DROP TABLE audit_segments; DELETE FROM audit_meta WHERE k = 'indexed_seq';"
               "UPDATE audit_meta SET v = '1' WHERE k = 'format';"
               "CREATE INDEX audit_records_patient ON audit_records(patient_h, time_ms);"
               "CREATE INDEX audit_records_user ON audit_records(user_h, time_ms);");
  std::vector<std::uint64_t> want;
  for (int i = 1; i <= 25; ++i) {
    if (i % 5 == 3) want.push_back(static_cast<std::uint64_t>(i));
  }
  EXPECT_EQ(seqs_of(reader()->query(by_patient(3))), want);  // read as it is
  {
    auto log = open_audit(opt_, keys_, logger_);  // the writer upgrades it
    ASSERT_TRUE(log);
    EXPECT_EQ(seqs_of(log->query(by_patient(3))), want);
  }
  EXPECT_EQ(scalar("SELECT v FROM audit_meta WHERE k = 'format'"), 2);
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM sqlite_master WHERE name = 'audit_records_patient'"), 0);
  EXPECT_EQ(scalar("SELECT v FROM audit_meta WHERE k = 'indexed_seq'"), 25);
  EXPECT_TRUE(verify(opt_, keys_).ok());
}

}  // namespace
}  // namespace hiegate::daemon
