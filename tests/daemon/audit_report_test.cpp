// Reports (who accessed a patient, a user's activity, emergency accesses),
// retention pruning across a checkpoint, and the JSON forms.
#include <nlohmann/json.hpp>

#include "audit_fixture.hpp"

namespace hiegate::daemon {
namespace {

using namespace testing;
using test::TempDir;

std::vector<std::string> request_ids(const std::vector<AuditEntry>& es) {
  std::vector<std::string> out;
  for (const auto& e : es) out.push_back(e.record.request_id);
  return out;
}

class AuditReport : public ::testing::Test {
protected:
  void SetUp() override {
    opt_ = audit_options(dir_, clock_);
    log_ = open_audit(opt_, keys_, logger_);
    ASSERT_TRUE(log_);
    // 12 records one minute apart; patient PATIENT-SECRET-(i%5), user user-(i%3).
    for (int i = 0; i < 12; ++i) {
      auto r = sample_record(i);
      if (i == 7 || i == 10) {
        r.event = "emergency_access";
        r.purpose = "emergency";
        r.emergency = true;
        r.detail = "unconscious on arrival";
      }
      ASSERT_TRUE(append_wait(*log_, r).ok());
      clock_.advance(60'000);
    }
  }

  TempDir dir_;
  TestClock clock_;
  QuietLogger logger_;
  std::shared_ptr<const crypto::KeyRing> keys_ = make_ring({{1, 'r'}});
  AuditOptions opt_;
  std::unique_ptr<AuditLog> log_;
};

TEST_F(AuditReport, PatientReportListsExactlyTheAccesses) {
  AuditQuery q;
  q.patient = "PATIENT-SECRET-2";
  auto r = log_->query(q);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(request_ids(*r), (std::vector<std::string>{"req-2", "req-7"}));
  EXPECT_EQ((*r)[1].record.user, "user-1");
  EXPECT_EQ((*r)[1].seq, 8u);
  q.patient = "PATIENT-UNKNOWN";
  EXPECT_TRUE(log_->query(q)->empty());
}

TEST_F(AuditReport, TimeWindowBoundsTheReport) {
  AuditQuery q;
  q.patient = "PATIENT-SECRET-0";  // records 0, 5, 10
  const auto t0 = clock_.ms->load() - 12 * 60'000;
  q.from_ms = t0 + 5 * 60'000;
  q.to_ms = t0 + 9 * 60'000;
  EXPECT_EQ(request_ids(*log_->query(q)), (std::vector<std::string>{"req-5"}));
}

TEST_F(AuditReport, UserReportAndEmergencyReview) {
  AuditQuery q;
  q.user = "user-2";
  EXPECT_EQ(request_ids(*log_->query(q)), (std::vector<std::string>{"req-2", "req-5", "req-8", "req-11"}));
  AuditQuery e;
  e.emergency_only = true;
  auto r = log_->query(e);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(request_ids(*r), (std::vector<std::string>{"req-7", "req-10"}));
  EXPECT_EQ((*r)[0].record.detail, "unconscious on arrival");
}

TEST_F(AuditReport, ReportFailsClosedOnACorruptRecord) {
  log_.reset();
  tamper(opt_, "UPDATE audit_records SET body = zeroblob(80) WHERE seq = 3");
  AuditQuery q;
  q.patient = "PATIENT-SECRET-2";
  auto r = open_reader(opt_, keys_)->query(q);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "record_corrupt");
}

TEST_F(AuditReport, PruningKeepsACheckpointAnchorAndStillVerifies) {
  // Checkpoint after record 10 (every 10) is at t0+9min; jump past retention.
  std::promise<Status> cp;
  log_->checkpoint([&](Status s) { cp.set_value(s); });
  ASSERT_TRUE(cp.get_future().get().ok());  // checkpoint at 12
  clock_.advance(std::chrono::duration_cast<std::chrono::milliseconds>(opt_.retention).count() - 150'000);
  // Now only the checkpoint at 10 (t0+9min) is older than the cut; 12 (t0+12min) is not.
  std::promise<Result<std::uint64_t>> pr;
  log_->prune("admin-1", [&](Result<std::uint64_t> n) { pr.set_value(std::move(n)); });
  auto removed = pr.get_future().get();
  ASSERT_TRUE(removed.ok()) << removed.error().message;
  EXPECT_EQ(*removed, 10u);
  append_samples(*log_, 100, 3);
  log_.reset();
  auto rep = verify(opt_, keys_);
  EXPECT_TRUE(rep.ok()) << rep.findings[0].message;
  EXPECT_EQ(rep.first_seq, 11u);
  EXPECT_EQ(rep.last_seq, 16u);  // 11, 12, the pruning record 13, then 14..16
  AuditQuery q;
  q.user = "admin-1";
  auto pruned = open_reader(opt_, keys_)->query(q);
  ASSERT_EQ(pruned->size(), 1u);
  EXPECT_EQ((*pruned)[0].record.event, "audit_pruned");
  EXPECT_EQ((*pruned)[0].record.action, AuditAction::del);
  // Removing the pruning record itself makes the cut unexplained.
  tamper(opt_, "DELETE FROM audit_records WHERE seq = 13");
  rep = verify(opt_, keys_);
  ASSERT_FALSE(rep.ok());
  bool unexplained = false;
  for (const auto& f : rep.findings) unexplained = unexplained || f.kind == "anchor_unexplained";
  EXPECT_TRUE(unexplained);
}

TEST_F(AuditReport, NothingToPruneWithinRetention) {
  std::promise<Result<std::uint64_t>> pr;
  log_->prune("admin-1", [&](Result<std::uint64_t> n) { pr.set_value(std::move(n)); });
  EXPECT_EQ(*pr.get_future().get(), 0u);
}

TEST_F(AuditReport, ExportJsonUsesAtnaNamesAndHidesThePatientByDefault) {
  auto reader = open_reader(opt_, keys_);
  std::vector<nlohmann::json> lines;
  ASSERT_TRUE(reader
                  ->for_each(1,
                             [&](const AuditEntry& e, std::string_view h) {
                               lines.push_back(nlohmann::json::parse(entry_to_json(e, h, false)));
                               EXPECT_EQ(entry_to_json(e, h, false).find("PATIENT-SECRET"), std::string::npos);
                               EXPECT_NE(entry_to_json(e, h, true).find(e.record.patient), std::string::npos);
                               return Status{};
                             })
                  .ok());
  ASSERT_EQ(lines.size(), 12u);
  EXPECT_EQ(lines[0]["action"], "R");
  EXPECT_EQ(lines[0]["outcome"], 4);
  EXPECT_EQ(lines[0]["outcome_desc"], "consent_missing");
  EXPECT_EQ(lines[0]["agent"]["who"], "user-0");
  EXPECT_EQ(lines[0]["entity"]["patient_hash"].get<std::string>().size(), 64u);
  EXPECT_EQ(lines[1]["seq"], 2);
}

}  // namespace
}  // namespace hiegate::daemon
