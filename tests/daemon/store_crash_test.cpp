// Crash safety: a child process writes as fast as it can and is killed with
// SIGKILL at a pseudo-random point, many times. Afterwards the store opens,
// every write the child saw acknowledged is there and opens, and the check
// finds nothing wrong.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <random>
#include <set>

#include "store_fixture.hpp"

namespace hiegate::daemon {
namespace {

using namespace testing;
using test::TempDir;

std::string content_for(int id) {
  return std::string(static_cast<std::size_t>(500 + (std::int64_t{id} * 7919) % 90000), static_cast<char>('a' + id % 26));
}

// Child: queues writes without waiting (so commits are always in flight) and
// reports each acknowledged id on `fd`. Never returns.
void write_forever(const TempDir& dir, std::shared_ptr<const crypto::KeyRing> keys, int first, int fd) {
  auto store = open_store(dir, std::move(keys));
  if (!store) ::_exit(3);
  std::atomic<int> in_flight{0};
  for (int id = first; id < first + 100000; ++id) {
    while (in_flight.load() > 48) ::usleep(200);  // keep a bounded number of writes queued
    ++in_flight;
    auto ack = [fd, id, &in_flight](Status st) {
      if (st) (void)!::write(fd, &id, sizeof id);
      --in_flight;
    };
    if (id % 3 == 0) {
      (*store)->put_record(RecordTable::audit, {std::to_string(id), "", content_for(id).substr(0, 300)}, ack);
    } else {
      (*store)->publish(doc("P" + std::to_string(id % 5), "D" + std::to_string(id)), source_of(content_for(id)), ack);
    }
  }
  ::pause();
}

[[noreturn]] void writer_child(const TempDir& dir, std::shared_ptr<const crypto::KeyRing> keys, int first, int fd) {
  try {
    write_forever(dir, std::move(keys), first, fd);
  } catch (...) {
    ::_exit(4);
  }
  ::_exit(0);
}

TEST(StoreCrash, SigkillAtRandomPointsLosesNoAcknowledgedWrite) {
  TempDir dir;
  const auto keys = make_ring({{1, 'k'}});
  std::mt19937 rng(20240611);
  std::set<int> acked;
  int next_id = 0;
  for (int round = 0; round < 25; ++round) {
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    const int first = next_id;
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(fds[0]);
      writer_child(dir, keys, first, fds[1]);
    }
    ::close(fds[1]);
    const int kill_after = std::uniform_int_distribution<int>(0, 60)(rng);
    int got = 0, id = 0;
    while (got < kill_after && ::read(fds[0], &id, sizeof id) == sizeof id) {
      acked.insert(id);
      ++got;
    }
    ::kill(pid, SIGKILL);
    while (::read(fds[0], &id, sizeof id) == sizeof id) acked.insert(id);  // acks sent before death
    ::close(fds[0]);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status)) << "child exited early with " << WEXITSTATUS(status);
    next_id = first + 100000;
  }
  ASSERT_GT(acked.size(), 100u);
  auto store = open_store(dir, keys);
  ASSERT_TRUE(store.ok()) << store.error().message;
  for (const int id : acked) {
    if (id % 3 == 0) {
      auto r = get_record(**store, RecordTable::audit, std::to_string(id));
      ASSERT_TRUE(r.ok()) << "audit " << id << ": " << r.error().message;
      EXPECT_EQ(r->value, content_for(id).substr(0, 300));
    } else {
      auto c = read_content(**store, "D" + std::to_string(id));
      ASSERT_TRUE(c.ok()) << "document " << id << ": " << c.error().message;
      EXPECT_EQ(*c, content_for(id));
    }
  }
  auto report = check(**store);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->sqlite_check, "ok");
  EXPECT_TRUE(report->failures.empty());
}

}  // namespace
}  // namespace hiegate::daemon
