// Durability: a SIGKILLed writer leaves a trail that verifies and holds every
// acknowledged record; a full disk fails appends with audit_unavailable and
// the trail recovers once space returns.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <random>
#include <set>

#include "audit_fixture.hpp"

namespace hiegate::daemon {
namespace {

using namespace testing;
using test::TempDir;

// Child: several threads append without waiting (bounded in flight) and
// report each acknowledged request id on `fd`. Never returns.
[[noreturn]] void append_forever(const AuditOptions& opt, std::shared_ptr<const crypto::KeyRing> keys, int first,
                                 int fd) {
  QuietLogger logger;
  auto log = AuditLog::open(opt, std::move(keys), logger);
  if (!log) ::_exit(3);
  std::atomic<int> in_flight{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int id = first + t; id < first + 1000000; id += 4) {
        while (in_flight.load() > 64) ::usleep(100);
        ++in_flight;
        auto r = sample_record(id);
        r.request_id = std::to_string(id);
        (*log)->append(std::move(r), [fd, id, &in_flight](Status st) {
          if (st) (void)!::write(fd, &id, sizeof id);
          --in_flight;
        });
      }
    });
  }
  for (auto& t : threads) t.join();
  ::pause();
  ::_exit(0);
}

TEST(AuditDurability, SigkillUnderLoadKeepsEveryAcknowledgedRecordAndAValidChain) {
  TempDir dir;
  TestClock clock;
  auto opt = audit_options(dir, clock);
  opt.checkpoint_every = 50;
  const auto keys = make_ring({{1, 'c'}});
  std::mt19937 rng(8);
  std::set<int> acked;
  for (int round = 0; round < 8; ++round) {
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    const int first = round * 1000000;
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(fds[0]);
      append_forever(opt, keys, first, fds[1]);
    }
    ::close(fds[1]);
    const int kill_after = std::uniform_int_distribution<int>(20, 400)(rng);
    int got = 0, id = 0;
    while (got < kill_after && ::read(fds[0], &id, sizeof id) == sizeof id) {
      acked.insert(id);
      ++got;
    }
    ::kill(pid, SIGKILL);
    while (::read(fds[0], &id, sizeof id) == sizeof id) acked.insert(id);
    ::close(fds[0]);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status)) << "child exited early with " << WEXITSTATUS(status);
  }
  ASSERT_GT(acked.size(), 100u);
  const auto rep = verify(opt, keys);
  EXPECT_TRUE(rep.ok()) << rep.findings[0].kind << ": " << rep.findings[0].message;
  auto reader = open_reader(opt, keys);
  std::set<int> present;
  ASSERT_TRUE(reader
                  ->for_each(1,
                             [&](const AuditEntry& e, std::string_view) {
                               present.insert(std::stoi(e.record.request_id));
                               return Status{};
                             })
                  .ok());
  for (int id : acked) ASSERT_TRUE(present.count(id)) << "acknowledged record " << id << " lost";
  // A new writer continues the same chain.
  {
    QuietLogger logger;
    auto log = open_audit(opt, keys, logger);
    append_samples(*log, 1, 3);
  }
  EXPECT_TRUE(verify(opt, keys).ok());
}

TEST(AuditDurability, FullDiskFailsAppendsWithAuditUnavailableAndRecovers) {
  TempDir dir;
  TestClock clock;
  auto opt = audit_options(dir, clock);
  opt.max_page_count = 40;  // 160 KiB
  const auto keys = make_ring({{1, 'd'}});
  QuietLogger logger;
  int acked = 0;
  {
    auto log = open_audit(opt, keys, logger);
    ASSERT_TRUE(log);
    bool failed = false;
    auto big = [](int i) {
      auto r = sample_record(i);
      r.detail = std::string(400, 'x');
      return r;
    };
    for (int i = 0; i < 2000 && !failed; ++i) {
      auto st = append_wait(*log, big(i));
      if (st) {
        ++acked;
      } else {
        EXPECT_EQ(st.error().code, "audit_unavailable");
        EXPECT_NE(st.error().message.find("full"), std::string::npos) << st.error().message;
        failed = true;
      }
    }
    ASSERT_TRUE(failed) << "the page limit was never reached";
    EXPECT_GT(acked, 5);
    // Still failing, and the trail is unchanged by the failures.
    auto again = append_wait(*log, big(1));
    ASSERT_FALSE(again.ok());
    EXPECT_EQ(again.error().code, "audit_unavailable");
  }
  auto rep = verify(opt, keys);
  EXPECT_TRUE(rep.ok()) << rep.findings[0].message;
  EXPECT_EQ(rep.last_seq, static_cast<std::uint64_t>(acked));
  opt.max_page_count = 0;  // space returns
  {
    auto log = open_audit(opt, keys, logger);
    ASSERT_TRUE(log);
    ASSERT_TRUE(append_wait(*log, sample_record(9)).ok());
  }
  rep = verify(opt, keys);
  EXPECT_TRUE(rep.ok()) << rep.findings[0].message;
  EXPECT_EQ(rep.last_seq, static_cast<std::uint64_t>(acked) + 1);
}

TEST(AuditDurability, NoPlaintextIdentifiersOnDisk) {
  TempDir dir;
  TestClock clock;
  const auto opt = audit_options(dir, clock);
  const auto keys = make_ring({{1, 'e'}});
  QuietLogger logger;
  {
    auto log = open_audit(opt, keys, logger);
    append_samples(*log, 1, 30);
  }
  for (const auto& f : std::filesystem::directory_iterator(opt.dir)) {
    const auto bytes = test::read_file(f.path());
    EXPECT_EQ(bytes.find("PATIENT-SECRET"), std::string::npos) << f.path();
    EXPECT_EQ(bytes.find("user-1"), std::string::npos) << f.path();
    EXPECT_EQ(bytes.find("DOC-1"), std::string::npos) << f.path();
  }
}

}  // namespace
}  // namespace hiegate::daemon

namespace hiegate::daemon {
namespace {

using namespace testing;

// Fields copied from request headers can hold any bytes. A record whose user
// or detail is not valid UTF-8 is stored with U+FFFD in their place — an
// exception in the encoder would have ended the writer thread and the
// daemon (found by fuzz_local_api; its input is kept in the corpus).
TEST_F(AuditTrailTest, InvalidUtf8FromHeadersIsStoredReplacedNotThrown) {
  opt_ = audit_options(dir_, clock_);
  {
    auto log = open_audit(opt_, keys_, logger_);
    ASSERT_TRUE(log);
    AuditRecord r = sample_record(1);
    r.user = std::string("1300000001/ap\xff\xff", 15) + "prover1";
    r.detail = "\xe3\x81";  // a truncated 3-byte sequence
    ASSERT_TRUE(append_wait(*log, r).ok());
    ASSERT_TRUE(append_wait(*log, sample_record(2)).ok());  // the writer lives on
  }
  EXPECT_TRUE(verify(opt_, keys_).ok());
  auto rd = reader();
  ASSERT_TRUE(rd);
  auto all = rd->query({});
  ASSERT_TRUE(all) << all.error().message;
  ASSERT_EQ(all->size(), 2U);
  EXPECT_EQ((*all)[0].record.user, "1300000001/ap\xEF\xBF\xBD\xEF\xBF\xBDprover1");
  EXPECT_EQ((*all)[0].record.detail, "\xEF\xBF\xBD\xEF\xBF\xBD");  // one per offending byte
}

}  // namespace
}  // namespace hiegate::daemon
