// The store's threads: one writer (batched transactions) and a reader pool.
// Private to the store.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "store/sqlite.hpp"

namespace hiegate::daemon::store {

struct WriteJob {
  bool durable = false;  // commit with synchronous=FULL
  /// Runs inside the batch transaction in its own savepoint; on error only
  /// this job's changes are rolled back.
  std::function<Status(sqlite::Db&)> run;
  /// Runs after the commit with the job's status (or the commit's error).
  std::function<void(Status)> done;
};

/// Owns the writing connection. Thread-safe post(). Destruction runs every
/// queued foreground job; queued background jobs fail with store_closed.
class Writer {
public:
  Writer(sqlite::Db db, std::size_t max_batch);
  ~Writer();
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;
  void post(WriteJob job);
  /// Runs only when no foreground job is waiting (rekey batches).
  void post_background(WriteJob job);

private:
  void loop();
  void run_batch(std::vector<WriteJob>& batch);
  std::size_t run_transaction(std::vector<WriteJob>& batch, std::size_t first);

  sqlite::Db db_;
  std::size_t max_batch_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<WriteJob> queue_, background_;
  bool stopping_ = false;
  std::thread thread_;
};

/// Threads each holding a read-only connection; jobs run in FIFO order on
/// whichever is free. A job posted from one of the pool's own threads (a
/// read chained in a read's callback) runs there at once, on that thread's
/// connection, when it holds no transaction or while a `Chain` is alive: a
/// request's reads then cost no thread hand-off after the first. Destruction
/// runs every queued job first.
class ReaderPool {
public:
  using Job = std::function<void(sqlite::Db&)>;
  ReaderPool(std::vector<sqlite::Db> dbs);
  ~ReaderPool();
  ReaderPool(const ReaderPool&) = delete;
  ReaderPool& operator=(const ReaderPool&) = delete;
  void post(Job job);

  /// Chain(true), while alive on a reader thread (a read handing its result
  /// to its callback with its transaction still open): jobs posted from this
  /// thread run inline inside that transaction, so the reads a request
  /// chains one after another share one snapshot and one BEGIN/COMMIT.
  /// Chain(false), while a read's own statements run: a job posted then
  /// (from a content sink, say) is queued, since it could reset a statement
  /// still being stepped.
  class Chain {
  public:
    explicit Chain(bool on);
    ~Chain();
    Chain(const Chain&) = delete;
    Chain& operator=(const Chain&) = delete;

  private:
    bool previous_;
  };

private:
  void loop(sqlite::Db& db);
  /// The connection of the calling thread if it is one of this pool's and
  /// may run a job now, else null.
  sqlite::Db* inline_db() const;

  std::vector<sqlite::Db> dbs_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace hiegate::daemon::store
