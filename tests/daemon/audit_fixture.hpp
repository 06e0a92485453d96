// Helpers for the audit trail tests: opening a log with a test clock,
// blocking appends, direct SQL on audit.db (to tamper with it).
#pragma once

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <atomic>
#include <future>
#include <memory>
#include <string>

#include "hiegate/daemon/audit.hpp"
#include "hiegate/daemon/log.hpp"
#include "store_fixture.hpp"

namespace hiegate::daemon::testing {

/// A manual clock shared by a test and its AuditLog (UTC ms).
struct TestClock {
  std::shared_ptr<std::atomic<std::int64_t>> ms = std::make_shared<std::atomic<std::int64_t>>(1'790'000'000'000);
  std::function<std::int64_t()> fn() const {
    return [m = ms] { return m->load(); };
  }
  void advance(std::int64_t d) const { *ms += d; }
};

inline AuditOptions audit_options(const test::TempDir& dir, const TestClock& clock) {
  AuditOptions o;
  o.dir = dir.path() / "state";
  o.clock = clock.fn();
  o.checkpoint_every = 10;
  o.checkpoint_interval = std::chrono::hours(24);
  return o;
}

/// Logs only critical events (tests expect errors and check them as values).
struct QuietLogger : Logger {
  QuietLogger() : Logger(Logger::Sink::stderr_text, Level::critical) {}
};

inline std::unique_ptr<AuditLog> open_audit(const AuditOptions& o, std::shared_ptr<const crypto::KeyRing> keys,
                                            Logger& logger) {
  auto log = AuditLog::open(o, std::move(keys), logger);
  EXPECT_TRUE(log.ok()) << (log.ok() ? "" : log.error().message);
  return log.ok() ? std::move(log).value() : nullptr;
}

inline std::unique_ptr<AuditReader> open_reader(const AuditOptions& o, std::shared_ptr<const crypto::KeyRing> keys) {
  auto r = AuditReader::open(o.dir, std::move(keys));
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() ? std::move(r).value() : nullptr;
}

inline Status append_wait(AuditLog& log, AuditRecord r) {
  std::promise<Status> p;
  auto f = p.get_future();
  log.append(std::move(r), [&p](Status st) { p.set_value(std::move(st)); });
  return f.get();
}

inline AuditRecord sample_record(int i) {
  AuditRecord r;
  r.event = i % 4 == 0 ? "decision" : "document_read";
  r.action = AuditAction::read;
  r.outcome = i % 4 == 0 ? AuditOutcome::minor_failure : AuditOutcome::success;
  r.facility = "F-LOCAL";
  r.user = "user-" + std::to_string(i % 3);
  r.role = "physician";
  r.peer_facility = "F-PEER";
  r.patient = "PATIENT-SECRET-" + std::to_string(i % 5);
  r.purpose = "treatment";
  r.reason_code = i % 4 == 0 ? "consent_missing" : "";
  r.document_ids = {"DOC-" + std::to_string(i)};
  r.request_id = "req-" + std::to_string(i);
  return r;
}

/// Appends sample records first..first+n-1 (blocking on each).
inline void append_samples(AuditLog& log, int first, int n) {
  for (int i = first; i < first + n; ++i) ASSERT_TRUE(append_wait(log, sample_record(i)).ok());
}

/// Runs SQL directly on audit.db (the daemon must be closed).
inline void tamper(const AuditOptions& o, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((o.dir / "audit.db").c_str(), &db), SQLITE_OK);
  char* err = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
  const std::string msg = err ? err : "";
  sqlite3_free(err);
  sqlite3_close(db);
  ASSERT_EQ(rc, SQLITE_OK) << msg;
}

inline AuditVerifyReport verify(const AuditOptions& o, std::shared_ptr<const crypto::KeyRing> keys) {
  auto r = open_reader(o, std::move(keys));
  if (!r) return {};
  auto rep = r->verify();
  EXPECT_TRUE(rep.ok()) << (rep.ok() ? "" : rep.error().message);
  return rep.ok() ? *rep : AuditVerifyReport{};
}

/// A closed trail of sample records 1..n (checkpoints every 10 and on close).
class AuditTrailTest : public ::testing::Test {
protected:
  void write_samples(int n) {
    opt_ = audit_options(dir_, clock_);
    auto log = open_audit(opt_, keys_, logger_);
    ASSERT_TRUE(log);
    append_samples(*log, 1, n);
  }
  std::unique_ptr<AuditReader> reader() { return open_reader(opt_, keys_); }

  test::TempDir dir_;
  TestClock clock_;
  QuietLogger logger_;
  std::shared_ptr<const crypto::KeyRing> keys_ = make_ring({{1, 'a'}});
  AuditOptions opt_;
};

}  // namespace hiegate::daemon::testing
