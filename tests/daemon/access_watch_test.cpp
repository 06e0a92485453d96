// AccessWatch: the access anomalies of [alerts] (規程 第29条), counted over a
// sliding window from the audited records, one row per case.
#include "hiegate/daemon/access_watch.hpp"

#include <gtest/gtest.h>

#include "hiegate/daemon/audit.hpp"

namespace hiegate::daemon {
namespace {

using namespace std::chrono_literals;
using Clock = AccessWatch::Clock;

const Clock::time_point t0 = Clock::time_point{} + std::chrono::hours(24 * 20000);

AuditRecord read_of(const std::string& user, const std::string& patient) {
  AuditRecord r;
  r.event = "document_read";
  r.action = AuditAction::read;
  r.user = user;
  r.patient = patient;
  return r;
}

AuditRecord refused(const std::string& user) {
  AuditRecord r = read_of(user, "P-1");
  r.outcome = AuditOutcome::minor_failure;
  r.reason_code = "consent_missing";
  return r;
}

AuditRecord emergency(const std::string& user, const std::string& patient) {
  AuditRecord r = read_of(user, patient);
  r.emergency = true;
  return r;
}

AccessWatchRules rules(std::size_t patients, std::size_t refusals, std::size_t emergencies) {
  AccessWatchRules r;
  r.window = 1h;
  r.patients_per_user = patients;
  r.refusals_per_user = refusals;
  r.emergency_accesses = emergencies;
  return r;
}

TEST(AccessWatch, EachConditionCountsItsOwnRecords) {
  struct Case {
    const char* what;
    std::vector<AuditRecord> records;
    AccessWatchRules rules;
    std::vector<Anomaly> want;
  };
  AuditRecord failed_read = read_of("A/u1", "P-3");
  failed_read.outcome = AuditOutcome::serious_failure;
  AuditRecord no_patient = read_of("A/u1", "");
  AuditRecord update = read_of("A/u1", "P-4");
  update.action = AuditAction::update;
  const std::vector<Case> cases = {
      {"three patients over a threshold of two",
       {read_of("A/u1", "P-1"), read_of("A/u1", "P-2"), read_of("A/u1", "P-3")},
       rules(2, 0, 0),
       {{"access_many_patients", "A/u1", 3, 2}}},
      {"one patient read often is one patient",
       {read_of("A/u1", "P-1"), read_of("A/u1", "P-1"), read_of("A/u1", "P-1")},
       rules(2, 0, 0),
       {}},
      {"at the threshold is not over it",
       {read_of("A/u1", "P-1"), read_of("A/u1", "P-2")},
       rules(2, 0, 0),
       {}},
      {"each user counts alone",
       {read_of("A/u1", "P-1"), read_of("A/u2", "P-2"), read_of("A/u1", "P-3")},
       rules(2, 0, 0),
       {}},
      {"failed reads, reads of no patient and updates do not count",
       {read_of("A/u1", "P-1"), read_of("A/u1", "P-2"), failed_read, no_patient, update},
       rules(2, 0, 0),
       {}},
      {"refusals of one user",
       {refused("A/u1"), refused("A/u1"), refused("A/u1"), refused("B/u9")},
       rules(0, 2, 0),
       {{"access_many_refusals", "A/u1", 3, 2}}},
      {"break-glass accesses of everyone together",
       {emergency("A/u1", "P-1"), emergency("B/u2", "P-2"), emergency("A/u3", "P-3")},
       rules(0, 0, 2),
       {{"access_emergency_burst", "", 3, 2}}},
      {"a threshold of 0 is off",
       {read_of("A/u1", "P-1"), read_of("A/u1", "P-2"), refused("A/u1"), emergency("A/u1", "P-9")},
       rules(0, 0, 0),
       {}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    AccessWatch w;
    auto t = t0;
    for (const auto& r : c.records) w.observe(r, t += 1s);
    EXPECT_EQ(w.anomalies(c.rules, t), c.want);
  }
}

TEST(AccessWatch, TheWindowSlides) {
  AccessWatch w;
  const auto r = rules(2, 2, 0);
  w.observe(read_of("A/u1", "P-1"), t0);
  w.observe(refused("A/u1"), t0);
  w.observe(read_of("A/u1", "P-2"), t0 + 30min);
  w.observe(refused("A/u1"), t0 + 30min);
  w.observe(read_of("A/u1", "P-3"), t0 + 50min);
  w.observe(refused("A/u1"), t0 + 50min);
  EXPECT_EQ(w.anomalies(r, t0 + 59min).size(), 2U);
  // The first reads and refusals leave the window: both conditions end.
  EXPECT_TRUE(w.anomalies(r, t0 + 61min).empty());
  // A longer window keeps what the shorter one would drop.
  w.observe(read_of("A/u1", "P-4"), t0 + 62min);
  w.observe(read_of("A/u1", "P-5"), t0 + 63min);
  auto longer = r;
  longer.window = 3h;
  const auto a = w.anomalies(longer, t0 + 64min);
  ASSERT_EQ(a.size(), 1U);
  EXPECT_EQ(a[0].count, 4U);  // P-2 .. P-5: P-1 was dropped with the 1 h window
}

TEST(AccessWatch, MemoryIsBounded) {
  AccessWatch w;
  auto t = t0;
  for (std::size_t i = 0; i < AccessWatch::kMaxEventsPerUser + 500; ++i) {
    w.observe(read_of("A/u1", "P-" + std::to_string(i)), t += 1ms);
  }
  const auto a = w.anomalies(rules(10, 0, 0), t);
  ASSERT_EQ(a.size(), 1U);
  EXPECT_EQ(a[0].count, AccessWatch::kMaxEventsPerUser);
}

}  // namespace
}  // namespace hiegate::daemon
