// Online re-encryption of every sealed row to the ring's active key version.
// Runs on the writer thread in small batches; progress lives in the meta
// table (rekey_target, rekey_progress.<table> = last rowid done, rekey_done,
// rekey_total), so an interrupted rekey resumes where it stopped.
#include "store/store_impl.hpp"

namespace hiegate::daemon {
namespace {

struct Row {
  std::int64_t rowid;
  IdHash key;
  std::int64_t version;
  Bytes sealed;
  Bytes header;
};

Result<std::vector<Row>> next_rows(sqlite::Db& db, const store::SealedTable& t, std::int64_t after, std::size_t n) {
  auto q = db.prepare(std::string("SELECT rowid, ") + t.key_col + ", key_version, sealed" +
                      (t.content ? ", content_header" : "") + " FROM " + t.name +
                      " WHERE rowid>? ORDER BY rowid LIMIT ?");
  if (!q) return std::move(q).error();
  q->bind(1, after).bind(2, static_cast<std::int64_t>(n));
  std::vector<Row> rows;
  for (;;) {
    auto r = q->step();
    if (!r) return std::move(r).error();
    if (!*r) return rows;
    rows.push_back(Row{q->int64(0), store::to_hash(q->blob(1)), q->int64(2), q->bytes(3),
                       t.content ? q->bytes(4) : Bytes{}});
  }
}

// Re-seals one row under `target`. A row that fails to open is reported and
// quarantined instead (the rekey goes on).
Status rekey_row(Store::Impl& s, sqlite::Db& db, const store::SealedTable& t, const Row& row, std::uint32_t target) {
  auto plain = crypto::open(*s.ring(), crypto::Binding{t.name, row.key}, row.sealed);
  auto fields = plain ? store::unpack(*plain, t.fields) : std::nullopt;
  if (!fields) {
    s.report_corrupt(t.name, row.key, row.sealed, plain ? "record_malformed" : plain.error().code);
    return {};
  }
  const auto [key, second] = store::row_hashes(t, *s.ring(), target, *fields);
  Bytes header = row.header;
  if (t.content) {
    // A savepoint drops the chunks already re-sealed if a later one fails.
    if (auto sp = db.exec("SAVEPOINT rekey_row"); !sp) return sp;
    auto h = store::rekey_content(db, *s.ring(), t.name, row.key, row.header, target, key);
    if (!h) (void)db.exec("ROLLBACK TO rekey_row");
    if (auto rel = db.exec("RELEASE rekey_row"); !rel) return rel;
    if (!h) {
      if (!is_integrity_error(h.error())) return std::move(h).error();
      s.report_corrupt(t.name, row.key, row.sealed, h.error().code);
      return {};
    }
    header = std::move(*h);
  }
  const Bytes sealed = crypto::seal(*s.ring(), target, crypto::Binding{t.name, key}, *plain);
  std::string sql = std::string("UPDATE ") + t.name + " SET " + t.key_col + "=?, key_version=?, sealed=?";
  if (t.hash_col != nullptr) sql += std::string(", ") + t.hash_col + "=?";
  if (t.content) sql += ", content_header=?";
  sql += " WHERE rowid=?";
  auto u = db.prepare(sql);
  if (!u) return std::move(u).error();
  u->bind(1, ByteView(key)).bind(2, std::int64_t{target}).bind(3, ByteView(sealed));
  int i = 4;
  if (t.hash_col != nullptr) {
    if (second) u->bind(i, ByteView(*second));
    ++i;
  }
  if (t.content) {
    u->bind(i, ByteView(header));
    ++i;
  }
  u->bind(i, row.rowid);
  return u->run();
}

Status finish(sqlite::Db& db, std::uint32_t target) {
  if (auto s = db.exec("DELETE FROM meta WHERE name LIKE 'rekey%' OR (name LIKE 'kcv.%' AND name<>'kcv." +
                       std::to_string(target) + "')");
      !s) {
    return s;
  }
  return store::meta_put_int(db, "key_version", target);
}

}  // namespace

Status Store::Impl::rekey_batch(sqlite::Db& db, RekeyStatus& out) {
  auto target = store::meta_int(db, "rekey_target", 0);
  auto done = store::meta_int(db, "rekey_done", 0);
  auto total = store::meta_int(db, "rekey_total", 0);
  if (!target || !done || !total) return make_error("store_io", "cannot read rekey progress");
  const auto to = static_cast<std::uint32_t>(*target);
  out = RekeyStatus{false, to, to, static_cast<std::uint64_t>(*done), static_cast<std::uint64_t>(*total)};
  if (to == 0) return {};
  {
    std::lock_guard lock(mu);
    out.from_version = store_version;
  }
  std::size_t budget = std::max<std::size_t>(1, opt.rekey_batch_rows);
  bool complete = true;
  for (const auto& t : store::kSealedTables) {
    const std::string progress_key = std::string("rekey_progress.") + t.name;
    auto after = store::meta_int(db, progress_key, 0);
    if (!after) return std::move(after).error();
    auto rows = next_rows(db, t, *after, budget);
    if (!rows) return std::move(rows).error();
    for (const auto& row : *rows) {
      if (row.version != to) {
        if (auto s = rekey_row(*this, db, t, row, to); !s) return s;
        ++out.done;
      }
      *after = row.rowid;
    }
    if (auto s = store::meta_put_int(db, progress_key, *after); !s) return s;
    if (rows->size() == budget) {
      complete = false;
      break;
    }
    budget -= rows->size();
  }
  out.running = !complete;
  if (auto s = store::meta_put_int(db, "rekey_done", static_cast<std::int64_t>(out.done)); !s) return s;
  if (complete) return finish(db, to);
  return {};
}

namespace {

// Queues one batch; `then` sees the committed status.
void post_batch(Store::Impl& s, bool background, std::function<void(Result<RekeyStatus>)> then) {
  auto status = std::make_shared<RekeyStatus>();
  store::WriteJob job{false, [&s, status](sqlite::Db& db) { return s.rekey_batch(db, *status); },
                      [&s, status, then = std::move(then)](Status st) {
                        if (!st) return then(std::move(st).error());
                        {
                          std::lock_guard lock(s.mu);
                          s.rekey = *status;
                          if (status->to_version != 0 && !status->running) s.store_version = status->to_version;
                        }
                        then(*status);
                      }};
  if (background) s.writer->post_background(std::move(job));
  else s.writer->post(std::move(job));
}

}  // namespace

void Store::Impl::schedule_rekey(Callback<RekeyStatus> done) {
  post_batch(*this, true, [this, done = std::move(done)](Result<RekeyStatus> r) {
    if (!r || !r->running) {
      {
        std::lock_guard lock(mu);
        rekey_background = false;
      }
      return done(std::move(r));
    }
    schedule_rekey(done);
  });
}

void Store::rekey_step(Callback<RekeyStatus> done) { post_batch(*impl_, false, std::move(done)); }

void Store::start_rekey(Callback<RekeyStatus> done) {
  {
    std::lock_guard lock(impl_->mu);
    impl_->rekey_background = true;
  }
  impl_->schedule_rekey(std::move(done));
}

RekeyStatus Store::rekey_status() const {
  std::lock_guard lock(impl_->mu);
  return impl_->rekey;
}

}  // namespace hiegate::daemon
