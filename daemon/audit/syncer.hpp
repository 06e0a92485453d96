// Durability off the audit writer's critical path. Private to the daemon.
//
// The writer commits each group with synchronous=NORMAL: SQLite appends the
// group's WAL frames with write() but does not fsync them (it still syncs
// around WAL checkpoints, so the database stays consistent). The writer then
// hands the group's callbacks to the Syncer and starts on the next group at
// once. The Syncer's thread calls fdatasync() on the WAL file and only then
// runs the callbacks of every group committed before that call began: a
// request is answered only once its record is on disk, as before, but the
// next group's inserts overlap this group's flush, and one flush covers
// every group committed meanwhile.
#pragma once

#include <condition_variable>
#include <deque>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "hiegate/common/result.hpp"

namespace hiegate::daemon {
class Logger;
}

namespace hiegate::daemon::audit {

class Syncer {
public:
  using Callback = std::function<void(Status)>;
  /// `wal`: the WAL file to flush (opened at the first flush). `durable`
  /// false: no flush (benchmarks), callbacks still run in order here.
  Syncer(std::filesystem::path wal, bool durable, Logger& log);
  /// Runs every queued callback (after a last flush) and stops.
  ~Syncer();
  Syncer(const Syncer&) = delete;
  Syncer& operator=(const Syncer&) = delete;

  /// Queues the callbacks of one committed group. `committed` is the
  /// group's own outcome: an error is passed on as it is, without a flush;
  /// ok becomes the outcome of the flush that covers it. After one failed
  /// flush every later group fails too, until the process restarts: the
  /// kernel may have dropped the unflushed frames, and WAL recovery stops at
  /// the first missing frame, so records committed after them could not be
  /// vouched for either.
  void push(Status committed, std::vector<Callback> callbacks);

private:
  struct Group {
    Status committed;
    std::vector<Callback> callbacks;
  };
  Status flush();
  void loop();

  std::filesystem::path wal_;
  bool durable_;
  Logger& log_;
  int fd_ = -1;                   // syncer thread only
  std::optional<Error> broken_;   // syncer thread only: the flush that failed
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Group> queue_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace hiegate::daemon::audit
