// Records of tools run beside or instead of the daemon (record_offline): the
// trail has one writer (a second is refused), an offline record is appended
// at once, and one made while a daemon writes is spooled, then appended by
// that daemon with its own time; a forged spool file is moved aside.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "support/process.hpp"

#include "audit_fixture.hpp"

namespace hiegate::daemon {
namespace {

using namespace testing;

AuditRecord admin_record(const std::string& event) {
  AuditRecord r;
  r.event = event;
  r.action = AuditAction::update;
  r.user = "unix:operator";
  r.detail = "from=/backups/x.db";
  return r;
}

std::vector<AuditEntry> events(AuditReader& reader, const std::string& event) {
  std::vector<AuditEntry> out;
  EXPECT_TRUE(reader
                  .for_each(1,
                            [&](const AuditEntry& e, std::string_view) -> Status {
                              if (e.record.event == event) out.push_back(e);
                              return {};
                            })
                  .ok());
  return out;
}

class AuditOfflineTest : public AuditTrailTest {};

TEST_F(AuditOfflineTest, OneWriterAtATime) {
  opt_ = audit_options(dir_, clock_);
  auto log = open_audit(opt_, keys_, logger_);
  ASSERT_TRUE(log);
  auto second = AuditLog::open(opt_, keys_, logger_);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code, "audit_busy");
  log.reset();
  EXPECT_TRUE(AuditLog::open(opt_, keys_, logger_).ok());  // released with the first
}

TEST_F(AuditOfflineTest, WithoutADaemonTheRecordIsAppendedAtOnce) {
  write_samples(3);
  auto where = record_offline(opt_, keys_, admin_record("restore"), logger_);
  ASSERT_TRUE(where.ok()) << where.error().message;
  EXPECT_EQ(*where, "appended");
  auto r = reader();
  const auto got = events(*r, "restore");
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].seq, 4u);
  EXPECT_EQ(got[0].record.user, "unix:operator");
  EXPECT_EQ(got[0].record.time_ms, clock_.ms->load());
  EXPECT_TRUE(verify(opt_, keys_).ok());
}

TEST_F(AuditOfflineTest, BesideADaemonTheRecordIsSpooledThenAppendedByIt) {
  opt_ = audit_options(dir_, clock_);
  auto log = open_audit(opt_, keys_, logger_);
  ASSERT_TRUE(log);
  append_samples(*log, 1, 2);
  const auto made_at = clock_.ms->load();
  auto where = record_offline(opt_, keys_, admin_record("backup"), logger_);
  ASSERT_TRUE(where.ok()) << where.error().message;
  EXPECT_EQ(*where, "spooled");
  clock_.advance(60'000);
  const auto spool = opt_.dir / "audit-spool";
  EXPECT_TRUE(test::eventually([&] { return std::filesystem::is_empty(spool); }, std::chrono::seconds(5)));
  append_samples(*log, 3, 1);
  log.reset();
  auto r = reader();
  const auto got = events(*r, "backup");
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].seq, 3u);
  EXPECT_EQ(got[0].record.time_ms, made_at);  // the tool's time, not the ingestion's
  EXPECT_EQ(got[0].record.detail, "from=/backups/x.db");
  EXPECT_TRUE(verify(opt_, keys_).ok());
}

// hiegatectl is often run as root beside a daemon that runs as the service
// user: what it spools must belong to the trail's owner, or the daemon could
// not read (and so never append) it.
TEST_F(AuditOfflineTest, ASpoolFileMadeByRootBelongsToTheTrailsOwner) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to hand files to another user";
  opt_ = audit_options(dir_, clock_);
  {
    auto log = open_audit(opt_, keys_, logger_);
    ASSERT_TRUE(log);
    append_samples(*log, 1, 1);
  }
  constexpr uid_t kService = 65534;
  ASSERT_EQ(::chown(opt_.dir.c_str(), kService, kService), 0);
  const int lock = ::open((opt_.dir / "audit.lock").c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(lock, 0);
  ASSERT_EQ(::flock(lock, LOCK_EX | LOCK_NB), 0);  // stands for the running daemon
  auto where = record_offline(opt_, keys_, admin_record("backup"), logger_);
  ::close(lock);
  ASSERT_TRUE(where.ok()) << where.error().message;
  EXPECT_EQ(*where, "spooled");
  const auto spool = opt_.dir / "audit-spool";
  struct stat st {};
  ASSERT_EQ(::stat(spool.c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, kService);
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(spool)) {
    ASSERT_EQ(::stat(e.path().c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, kService) << e.path();
    EXPECT_EQ(st.st_mode & 0777, 0600U) << e.path();
    ++files;
  }
  EXPECT_EQ(files, 1);
}

TEST_F(AuditOfflineTest, SpooledRecordsWaitingAtStartAreAppendedAndForgeriesMovedAside) {
  opt_ = audit_options(dir_, clock_);
  {
    auto log = open_audit(opt_, keys_, logger_);  // holds the lock: record_offline spools
    ASSERT_TRUE(log);
    ASSERT_EQ(*record_offline(opt_, keys_, admin_record("key_operation"), logger_), "spooled");
    log.reset();
  }
  // The first daemon may have taken it in already; write another while none runs.
  const auto spool = opt_.dir / "audit-spool";
  std::filesystem::create_directories(spool);
  std::ofstream(spool / "0000000000000001-forged.rec") << "not sealed";
  auto log = open_audit(opt_, keys_, logger_);
  ASSERT_TRUE(log);
  EXPECT_TRUE(test::eventually([&] { return std::filesystem::exists(spool / "0000000000000001-forged.rejected"); }));
  log.reset();
  auto r = reader();
  EXPECT_EQ(events(*r, "key_operation").size(), 1u);
  EXPECT_TRUE(verify(opt_, keys_).ok());
}

}  // namespace
}  // namespace hiegate::daemon
