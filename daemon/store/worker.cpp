#include "store/worker.hpp"

#include <pthread.h>

namespace hiegate::daemon::store {

Writer::Writer(sqlite::Db db, std::size_t max_batch)
    : db_(std::move(db)), max_batch_(max_batch == 0 ? 1 : max_batch), thread_([this] { loop(); }) {}

Writer::~Writer() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
  for (auto& job : background_) job.done(make_error("store_closed", "the store was closed"));
}

void Writer::post(WriteJob job) {
  {
    std::lock_guard lock(mu_);
    queue_.push_back(std::move(job));
  }
  cv_.notify_one();
}

void Writer::post_background(WriteJob job) {
  {
    std::lock_guard lock(mu_);
    background_.push_back(std::move(job));
  }
  cv_.notify_one();
}

void Writer::loop() {
  ::pthread_setname_np(::pthread_self(), "hiegate-storew");  // as ps -L and top -H show it
  std::vector<WriteJob> batch;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty() || !background_.empty(); });
      if (!queue_.empty()) {
        while (!queue_.empty() && batch.size() < max_batch_) {
          batch.push_back(std::move(queue_.front()));
          queue_.pop_front();
        }
      } else if (stopping_) {
        return;  // background jobs are failed by the destructor
      } else {
        batch.push_back(std::move(background_.front()));
        background_.pop_front();
      }
    }
    run_batch(batch);
    batch.clear();
  }
}

void Writer::run_batch(std::vector<WriteJob>& batch) {
  std::size_t first = 0;
  while (first < batch.size()) first = run_transaction(batch, first);
}

// Runs jobs from `first` in one transaction and reports them; returns the
// index of the first job not run (when SQLite aborted the transaction itself,
// e.g. on SQLITE_FULL, the jobs already run fail with that error and the rest
// get a fresh transaction).
std::size_t Writer::run_transaction(std::vector<WriteJob>& batch, std::size_t first) {
  bool durable = false;
  for (std::size_t i = first; i < batch.size(); ++i) durable = durable || batch[i].durable;
  std::vector<Status> results(batch.size());
  std::size_t end = batch.size();
  Status commit = db_.exec(durable ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
  if (commit) commit = db_.exec("BEGIN IMMEDIATE");
  if (commit) {
    for (std::size_t i = first; i < batch.size(); ++i) {
      if (auto s = db_.exec("SAVEPOINT job"); !s) {
        results[i] = s;
        continue;
      }
      results[i] = batch[i].run(db_);
      if (!results[i] && sqlite3_get_autocommit(db_.get()) != 0) {
        commit = results[i];  // the whole transaction is gone
        end = i + 1;
        break;
      }
      if (!results[i]) (void)db_.exec("ROLLBACK TO job");
      (void)db_.exec("RELEASE job");
    }
    if (commit) commit = db_.exec("COMMIT");
    if (!commit && sqlite3_get_autocommit(db_.get()) == 0) (void)db_.exec("ROLLBACK");
  }
  for (std::size_t i = first; i < end; ++i) batch[i].done(commit ? results[i] : commit);
  return end;
}

ReaderPool::ReaderPool(std::vector<sqlite::Db> dbs) : dbs_(std::move(dbs)) {
  for (auto& db : dbs_) threads_.emplace_back([this, &db] { loop(db); });
}

ReaderPool::~ReaderPool() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
}

namespace {
// The pool and connection of the reader thread running this code, and how
// deep its inline jobs are nested.
thread_local const ReaderPool* tl_pool = nullptr;
thread_local sqlite::Db* tl_db = nullptr;
thread_local int tl_depth = 0;
thread_local bool tl_chain = false;
constexpr int kMaxInlineDepth = 8;  // a longer chain is queued: bounded stack
}  // namespace

ReaderPool::Chain::Chain(bool on) : previous_(tl_chain) { tl_chain = on; }
ReaderPool::Chain::~Chain() { tl_chain = previous_; }

sqlite::Db* ReaderPool::inline_db() const {
  if (tl_pool != this || tl_db == nullptr || tl_depth >= kMaxInlineDepth) return nullptr;
  if (tl_chain) return tl_db;
  // Posted from inside a read whose statements may still be running: queue.
  return sqlite3_get_autocommit(tl_db->get()) != 0 ? tl_db : nullptr;
}

void ReaderPool::post(Job job) {
  if (auto* db = inline_db()) {
    struct Depth {
      Depth() { ++tl_depth; }
      ~Depth() { --tl_depth; }
      Depth(const Depth&) = delete;
      Depth& operator=(const Depth&) = delete;
    } depth;
    job(*db);
    return;
  }
  {
    std::lock_guard lock(mu_);
    queue_.push_back(std::move(job));
  }
  cv_.notify_one();
}

void ReaderPool::loop(sqlite::Db& db) {
  ::pthread_setname_np(::pthread_self(), "hiegate-storer");
  tl_pool = this;
  tl_db = &db;
  for (;;) {
    Job job;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    job(db);
  }
}

}  // namespace hiegate::daemon::store
