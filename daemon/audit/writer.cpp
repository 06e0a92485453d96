// AuditLog: the writer thread and group commit.
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include <pthread.h>

#include <future>

#include "audit/chain.hpp"
#include "audit/lookup.hpp"
#include "audit/spool.hpp"
#include "audit/syncer.hpp"
#include "audit/syslog.hpp"
#include "hiegate/crypto/encoding.hpp"
#include "hiegate/crypto/sealed.hpp"
#include "hiegate/daemon/events.hpp"
#include "hiegate/daemon/log.hpp"

namespace hiegate::daemon {

using audit::Hash;

namespace {

struct Job {
  enum class Kind { record, checkpoint, prune } kind = Kind::record;
  AuditRecord record;
  std::function<void(Status)> done;
  std::function<void(Result<std::uint64_t>)> pruned;
};

Error unavailable(const Error& e) {
  return make_error("audit_unavailable", "the audit trail cannot be written (" + e.code + "): " + e.message);
}

// Chain position; copied before a transaction and restored if it fails.
struct ChainState {
  std::uint64_t last_seq = 0;
  Hash head{};
  std::uint64_t checkpoint_seq = 0;
  std::int64_t checkpoint_ms = 0;
};

}  // namespace

struct AuditLog::Impl {
  Impl(const AuditOptions& o, std::shared_ptr<const crypto::KeyRing> m, std::shared_ptr<const audit::Keys> k,
       Logger& l, audit::WriterLock w, sqlite::Db d)
      : opt(o), master(std::move(m)), keys(std::move(k)), log(l), lock(std::move(w)), db(std::move(d)) {}

  AuditOptions opt;
  std::shared_ptr<const crypto::KeyRing> master;
  std::shared_ptr<const audit::Keys> keys;
  Logger& log;
  audit::WriterLock lock;   // this process is the trail's only writer
  sqlite::Db db;            // writer thread only (after start)
  ChainState state;         // writer thread only (after start)
  audit::PendingLookup lookup;  // writer thread only (after start)
  bool failing = false;     // writer thread only
  // Adaptive group window (group_max_wait 0): the size of the last group and
  // how long its commit took. Writer thread only.
  std::size_t last_group = 1;
  std::chrono::steady_clock::duration last_commit{};
  std::unique_ptr<audit::SyslogForwarder> forwarder;
  std::unique_ptr<audit::Syncer> syncer;  // runs every callback, after the flush

  std::mutex mu;
  std::condition_variable cv;
  std::deque<Job> queue;
  // The queue length at which an append wakes the writer: 1 when it sleeps
  // idle, the group it waits for during a group window, none while it works
  // (it looks at the queue before sleeping again). Saves a futex wake and a
  // context switch per record under load.
  std::size_t wake_at = 1;
  bool stopping = false;
  std::thread thread;

  std::int64_t now() const { return opt.clock(); }
  Status load_state();
  Status insert(std::uint64_t seq, AuditRecord& r, std::vector<AuditEntry>& forwarded);
  Status insert_checkpoint();
  bool checkpoint_due() const;
  Status close_due(bool checkpoint, bool segment, bool& segment_written);
  void settle(const Status& st, const ChainState& saved, bool segment_written);
  void commit_records(std::vector<Job>& batch);
  void forward(const std::vector<AuditEntry>& entries);
  void run_checkpoint(Job& job);
  void run_prune(Job& job);
  void ingest_spool();
  void loop();
  void report(const Status& st);
  void enqueue(Job job, bool always_wake);
};

void AuditLog::Impl::enqueue(Job job, bool always_wake) {
  bool wake = always_wake;
  {
    std::lock_guard lk(mu);
    queue.push_back(std::move(job));
    wake = wake || queue.size() >= wake_at;
  }
  if (wake) cv.notify_one();
}

Status AuditLog::Impl::load_state() {
  auto anchor = audit::load_anchor(db);
  if (!anchor) return std::move(anchor).error();
  auto cps = audit::load_checkpoints(db);
  if (!cps) return std::move(cps).error();
  if (!cps->empty()) {
    state.checkpoint_seq = cps->back().seq;
    state.checkpoint_ms = cps->back().time_ms;
  }
  for (const auto& c : *cps) {
    if (c.seq == *anchor) {
      state.last_seq = c.seq;
      state.head = audit::to_hash(c.head);
    }
  }
  auto st = db.prepare("SELECT seq, hash FROM audit_records ORDER BY seq DESC LIMIT 1");
  if (!st) return std::move(st).error();
  auto row = st->step();
  if (!row) return std::move(row).error();
  if (*row) {
    state.last_seq = static_cast<std::uint64_t>(st->int64(0));
    state.head = audit::to_hash(st->blob(1));
  }
  if (state.checkpoint_ms == 0) state.checkpoint_ms = now();
  return audit::catch_up(db, lookup);
}

Status AuditLog::Impl::insert(std::uint64_t seq, AuditRecord& r, std::vector<AuditEntry>& forwarded) {
  if (r.time_ms == 0) r.time_ms = now();
  // Header-borne fields may hold any bytes: repair them once, here, so that
  // the sealed body, the keyed lookup columns and the syslog copy agree.
  audit::repair_text(r);
  const auto v = keys->active_version();
  const std::string body = audit::encode_repaired_body(seq, r);
  const crypto::ByteView plain(reinterpret_cast<const std::uint8_t*>(body.data()), body.size());
  const auto sealed = crypto::seal(keys->ring(), v, {audit::kSealTable, {}}, plain);
  const Hash h = audit::chain_next(keys->chain_key(v), state.head, plain);
  const auto patient_h = keys->id_hash(v, "patient", r.patient);
  auto ins = db.cached(
      "INSERT INTO audit_records(seq, time_ms, event, action, outcome, emergency, key_version, patient_h, "
      "user_h, body, hash) VALUES (?,?,?,?,?,?,?,?,?,?,?)");
  if (!ins) return std::move(ins).error();
  // Every bound buffer outlives the statement's run: bound without a copy.
  auto& s = **ins;
  const char action = static_cast<char>(r.action);
  s.bind(1, static_cast<std::int64_t>(seq)).bind(2, r.time_ms).bind_static(3, std::string_view(r.event));
  s.bind_static(4, std::string_view(&action, 1)).bind(5, std::int64_t{static_cast<int>(r.outcome)});
  s.bind(6, std::int64_t{r.emergency ? 1 : 0}).bind(7, std::int64_t{v});
  if (!patient_h.empty()) s.bind_static(8, crypto::ByteView(patient_h));
  const auto user_h = keys->id_hash(v, "user", r.user);
  if (!user_h.empty()) s.bind_static(9, crypto::ByteView(user_h));
  s.bind_static(10, crypto::ByteView(sealed)).bind_static(11, crypto::ByteView(h));
  if (auto st = s.run(); !st) return st;
  lookup.add(seq, r.time_ms, patient_h, user_h);
  state.last_seq = seq;
  state.head = h;
  if (forwarder) forwarded.push_back({seq, r});
  return {};
}

bool AuditLog::Impl::checkpoint_due() const {
  if (state.last_seq <= state.checkpoint_seq) return false;
  const auto interval_ms = std::chrono::duration_cast<std::chrono::milliseconds>(opt.checkpoint_interval).count();
  return state.last_seq - state.checkpoint_seq >= opt.checkpoint_every || now() - state.checkpoint_ms >= interval_ms;
}

Status AuditLog::Impl::insert_checkpoint() {
  const auto t = now();
  const auto c = audit::sign_checkpoint(*keys, keys->active_version(), state.last_seq, state.head, t);
  auto ins = db.cached(
      "INSERT OR REPLACE INTO audit_checkpoints(seq, time_ms, key_version, head, public_key, signature) "
      "VALUES (?,?,?,?,?,?)");
  if (!ins) return std::move(ins).error();
  (*ins)->bind(1, static_cast<std::int64_t>(c.seq)).bind(2, c.time_ms).bind(3, std::int64_t{c.key_version});
  (*ins)->bind(4, crypto::ByteView(c.head)).bind(5, crypto::ByteView(c.public_key));
  (*ins)->bind(6, crypto::ByteView(c.signature));
  if (auto st = (*ins)->run(); !st) return st;
  state.checkpoint_seq = c.seq;
  state.checkpoint_ms = t;
  return {};
}

// Inside a transaction: the checkpoint if one is due (or `checkpoint`), and
// the pending lookup segment with it, once it is full, or if `segment`.
Status AuditLog::Impl::close_due(bool checkpoint, bool segment, bool& segment_written) {
  checkpoint = checkpoint || checkpoint_due();
  if (checkpoint || segment || lookup.size() >= audit::kSegmentMax) {
    if (auto s = lookup.write(db); !s) return s;
    segment_written = lookup.size() > 0;
  }
  return checkpoint ? insert_checkpoint() : Status{};
}

// After a transaction: a failed one leaves the chain and the pending lookup
// as they were before it.
void AuditLog::Impl::settle(const Status& st, const ChainState& saved, bool segment_written) {
  if (!st) {
    state = saved;
    lookup.truncate(saved.last_seq);
  } else if (segment_written) {
    lookup.reset(lookup.last_seq());
  }
}

void AuditLog::Impl::report(const Status& st) {
  if (!st && !failing) {
    log.log(Level::error, events::kAuditUnavailable, "the audit trail cannot be written; requests are refused",
            {{"CODE", st.error().code}, {"ERROR", st.error().message}});
  } else if (st && failing) {
    log.log(Level::notice, events::kAuditRecovered, "the audit trail is writable again");
  }
  failing = !st;
}

void AuditLog::Impl::commit_records(std::vector<Job>& batch) {
  const ChainState saved = state;
  std::vector<AuditEntry> forwarded;
  bool segment = false;
  Status st = sqlite::transaction(db, [&]() -> Status {
    for (auto& j : batch) {
      if (auto s = insert(state.last_seq + 1, j.record, forwarded); !s) return s;
    }
    return close_due(false, false, segment);
  });
  settle(st, saved, segment);
  report(st);
  if (st) forward(forwarded);  // before the callbacks: a caller then sees its record queued
  std::vector<audit::Syncer::Callback> callbacks;
  callbacks.reserve(batch.size());
  for (auto& j : batch) callbacks.push_back(std::move(j.done));
  syncer->push(st ? Status{} : Status(unavailable(st.error())), std::move(callbacks));
}

void AuditLog::Impl::forward(const std::vector<AuditEntry>& entries) {
  if (!forwarder) return;
  for (const auto& e : entries) {
    const auto h = keys->id_hash(keys->active_version(), "patient", e.record.patient);
    forwarder->push(audit::format_syslog(e, crypto::to_hex(h), opt.hostname));
  }
}

void AuditLog::Impl::run_checkpoint(Job& job) {
  Status st;
  // Also closes a segment left open, e.g. the records indexed at start.
  if (state.last_seq > state.checkpoint_seq || lookup.size() > 0) {
    const ChainState saved = state;
    bool segment = false;
    st = sqlite::transaction(db, [&] { return close_due(state.last_seq > state.checkpoint_seq, true, segment); });
    settle(st, saved, segment);
  }
  syncer->push(st ? Status{} : Status(unavailable(st.error())), {std::move(job.done)});
}

void AuditLog::Impl::run_prune(Job& job) {
  const auto cutoff = now() - std::chrono::duration_cast<std::chrono::milliseconds>(opt.retention).count();
  auto anchor = audit::load_anchor(db);
  auto cps = audit::load_checkpoints(db);
  if (!anchor || !cps) {
    job.pruned(unavailable(!anchor ? anchor.error() : cps.error()));
    return;
  }
  // The newest checkpoint older than the cut closes the last whole segment.
  const AuditCheckpoint* cut = nullptr;
  for (const auto& c : *cps) {
    if (c.time_ms < cutoff && c.seq > *anchor && c.seq <= state.last_seq) cut = &c;
  }
  if (cut == nullptr) {
    job.pruned(std::uint64_t{0});
    return;
  }
  const ChainState saved = state;
  std::uint64_t removed = 0;
  std::vector<AuditEntry> forwarded;
  Status st = sqlite::transaction(db, [&]() -> Status {
    const auto seq = std::to_string(cut->seq);
    if (auto s = db.exec("DELETE FROM audit_records WHERE seq <= " + seq); !s) return s;
    removed = static_cast<std::uint64_t>(db.changes());
    if (auto s = db.exec("DELETE FROM audit_checkpoints WHERE seq < " + seq); !s) return s;
    if (auto s = db.exec("UPDATE audit_meta SET v = '" + seq + "' WHERE k = 'anchor_seq'"); !s) return s;
    if (auto s = audit::drop_segments(db, cut->seq); !s) return s;
    job.record.event = "audit_pruned";
    job.record.action = AuditAction::del;
    job.record.detail = "anchor=" + seq + " removed=" + std::to_string(removed);
    return insert(state.last_seq + 1, job.record, forwarded);
  });
  settle(st, saved, false);
  if (!st) {
    job.pruned(unavailable(st.error()));
    return;
  }
  forward(forwarded);
  log.log(Level::notice, events::kAuditPruned, "old audit records pruned",
          {{"COUNT", std::to_string(removed)}, {"ANCHOR", std::to_string(cut->seq)}});
  syncer->push({}, {[done = std::move(job.pruned), removed](Status flushed) {
                  if (flushed) return done(removed);
                  done(flushed.error());
                }});
}

void AuditLog::Impl::ingest_spool() {
  std::vector<std::string> rejected;
  auto items = audit::spool_read(opt.dir, *keys, opt.group_max_records, rejected);
  for (const auto& r : rejected) {
    log.log(Level::error, events::kAuditSpoolRejected, "a spooled audit record does not open; moved aside",
            {{"FILE", r}});
  }
  std::vector<Job> batch;
  for (auto& item : items) {
    batch.push_back({Job::Kind::record, std::move(item.record), [file = item.file](Status st) {
                       std::error_code ec;
                       if (st) std::filesystem::remove(file, ec);
                     }, {}});
  }
  if (!batch.empty()) commit_records(batch);
}

void AuditLog::Impl::loop() {
  using namespace std::chrono_literals;
  ::pthread_setname_np(::pthread_self(), "hiegate-audit");  // as ps -L and top -H show it
  constexpr auto kSpoolScan = 1s;  // records spooled by other processes wait at most about this long
  auto next_scan = std::chrono::steady_clock::now();
  std::unique_lock lk(mu);
  for (;;) {
    if (std::chrono::steady_clock::now() >= next_scan) {
      lk.unlock();
      ingest_spool();
      lk.lock();
      next_scan = std::chrono::steady_clock::now() + kSpoolScan;
    }
    wake_at = 1;
    cv.wait_until(lk, std::min(next_scan, std::chrono::steady_clock::now() + opt.checkpoint_interval),
                  [&] { return stopping || !queue.empty(); });
    wake_at = SIZE_MAX;
    if (queue.empty()) {
      if (stopping) break;
      lk.unlock();
      Job timed{Job::Kind::checkpoint, {}, {}, {}};
      if (checkpoint_due()) run_checkpoint(timed);
      lk.lock();
      continue;
    }
    if (opt.group_max_wait.count() > 0 && !stopping && queue.size() < opt.group_max_records) {
      wake_at = opt.group_max_records;
      cv.wait_for(lk, opt.group_max_wait, [&] { return stopping || queue.size() >= opt.group_max_records; });
      wake_at = SIZE_MAX;
    } else if (opt.group_max_wait.count() == 0 && !stopping && last_group > 1 && queue.size() < last_group) {
      // Under load (the last group held several requests' records) the
      // requests just answered are coming back: wait for as many records as
      // last time, at most half a commit (and 2 ms). A lone request, whose
      // last group was itself, never waits.
      const auto window = std::min<std::chrono::steady_clock::duration>(last_commit / 2, std::chrono::milliseconds(2));
      const std::size_t want = std::min(last_group, opt.group_max_records);
      wake_at = want;
      cv.wait_for(lk, window, [&] { return stopping || queue.size() >= want; });
      wake_at = SIZE_MAX;
    }
    // Everything queued, taken at once: appenders never wait on the lock
    // while jobs are moved.
    std::deque<Job> taken;
    taken.swap(queue);
    lk.unlock();
    while (!taken.empty()) {
      if (taken.front().kind != Job::Kind::record) {
        Job job = std::move(taken.front());
        taken.pop_front();
        if (job.kind == Job::Kind::checkpoint) run_checkpoint(job);
        else run_prune(job);
        continue;
      }
      std::vector<Job> batch;
      while (!taken.empty() && taken.front().kind == Job::Kind::record && batch.size() < opt.group_max_records) {
        batch.push_back(std::move(taken.front()));
        taken.pop_front();
      }
      const auto t0 = std::chrono::steady_clock::now();
      commit_records(batch);
      last_commit = std::chrono::steady_clock::now() - t0;
      last_group = batch.size();
    }
    lk.lock();
  }
  lk.unlock();
  Job final_checkpoint{Job::Kind::checkpoint, {}, {}, {}};
  run_checkpoint(final_checkpoint);
}

Result<std::unique_ptr<AuditLog>> AuditLog::open(const AuditOptions& options,
                                                 std::shared_ptr<const crypto::KeyRing> keys, Logger& log) {
  if (!keys) return make_error("key_unavailable", "the audit trail needs the key ring");
  auto derived = audit::Keys::derive(*keys);
  if (!derived) return std::move(derived).error();
  auto lock = audit::WriterLock::acquire(options.dir);
  if (!lock) return std::move(lock).error();
  auto db = audit::open_db(options.dir, false);
  if (!db) return unavailable(db.error());
  // Durable: commits are flushed by the Syncer (audit/syncer.hpp); NORMAL
  // keeps SQLite's own syncs around WAL checkpoints.
  std::string pragmas = options.durable ? "PRAGMA synchronous=NORMAL;" : "PRAGMA synchronous=OFF;";
  if (options.max_page_count > 0) pragmas += "PRAGMA max_page_count=" + std::to_string(options.max_page_count) + ";";
  if (auto s = db->exec(pragmas); !s) return unavailable(s.error());
  auto impl = std::make_unique<Impl>(options, std::move(keys), std::move(derived).value(), log,
                                     std::move(lock).value(), std::move(db).value());
  if (!impl->opt.clock) {
    impl->opt.clock = [] {
      return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
    };
  }
  if (impl->opt.group_max_records == 0) impl->opt.group_max_records = 1;
  if (impl->opt.checkpoint_every == 0) impl->opt.checkpoint_every = 1;
  if (impl->opt.checkpoint_interval.count() <= 0) impl->opt.checkpoint_interval = std::chrono::seconds(1);
  if (auto s = impl->load_state(); !s) return unavailable(s.error());
  if (!impl->opt.syslog_socket.empty() && !impl->opt.syslog_tls_host.empty()) {
    return make_error("config_invalid", "syslog forwarding goes to a Unix socket or over TLS, not both");
  }
  std::unique_ptr<audit::SyslogSink> sink;
  if (!impl->opt.syslog_socket.empty()) sink = audit::unix_syslog_sink(impl->opt.syslog_socket);
  if (!impl->opt.syslog_tls_host.empty()) {
    auto tls = audit::tls_syslog_sink(impl->opt.syslog_tls_host, impl->opt.syslog_tls_port, impl->opt.syslog_ca);
    if (!tls) return std::move(tls).error();
    sink = std::move(*tls);
  }
  if (sink) impl->forwarder = std::make_unique<audit::SyslogForwarder>(std::move(sink), impl->opt.syslog_backlog);
  impl->syncer = std::make_unique<audit::Syncer>(impl->opt.dir / (std::string(audit::kDbName) + "-wal"),
                                                 impl->opt.durable, log);
  auto* raw = impl.get();
  impl->thread = std::thread([raw] { raw->loop(); });
  return std::unique_ptr<AuditLog>(new AuditLog(std::move(impl)));
}

AuditLog::AuditLog(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

AuditLog::~AuditLog() {
  {
    std::lock_guard lk(impl_->mu);
    impl_->stopping = true;
  }
  impl_->cv.notify_all();
  impl_->thread.join();
  impl_->syncer.reset();  // the last callbacks, after the last flush
}

void AuditLog::append(AuditRecord r, std::function<void(Status)> durable) {
  impl_->enqueue({Job::Kind::record, std::move(r), std::move(durable), {}}, false);
}

void AuditLog::checkpoint(std::function<void(Status)> done) {
  impl_->enqueue({Job::Kind::checkpoint, {}, std::move(done), {}}, true);
}

void AuditLog::prune(std::string actor, std::function<void(Result<std::uint64_t>)> done) {
  if (!done) done = [](Result<std::uint64_t>) {};
  AuditRecord r;
  r.user = std::move(actor);
  impl_->enqueue({Job::Kind::prune, std::move(r), {}, std::move(done)}, true);
}

Result<std::vector<AuditEntry>> AuditLog::query(const AuditQuery& q) {
  auto reader = AuditReader::open(impl_->opt.dir, impl_->master);
  if (!reader) return std::move(reader).error();
  return (*reader)->query(q);
}

AuditLog::ForwardStats AuditLog::forward_stats() const {
  return impl_->forwarder ? impl_->forwarder->stats() : ForwardStats{};
}

Result<std::string> record_offline(const AuditOptions& options, std::shared_ptr<const crypto::KeyRing> keys,
                                   AuditRecord r, Logger& log) {
  if (!keys) return make_error("key_unavailable", "the audit trail needs the key ring");
  if (r.time_ms == 0) {
    r.time_ms = options.clock ? options.clock()
                              : std::chrono::duration_cast<std::chrono::milliseconds>(
                                    std::chrono::system_clock::now().time_since_epoch())
                                    .count();
  }
  auto trail = AuditLog::open(options, keys, log);
  if (trail) {
    std::promise<Status> done;
    (*trail)->append(std::move(r), [&done](Status st) { done.set_value(std::move(st)); });
    if (auto st = done.get_future().get(); !st) return std::move(st).error();
    return std::string("appended");
  }
  if (trail.error().code != "audit_busy") return std::move(trail).error();
  auto derived = audit::Keys::derive(*keys);
  if (!derived) return std::move(derived).error();
  if (auto st = audit::spool_write(options.dir, **derived, r); !st) return std::move(st).error();
  return std::string("spooled");
}

}  // namespace hiegate::daemon
