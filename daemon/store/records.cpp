// Generic sealed key -> value tables (consents, users, exports, directives, audit,
// emergencies).
#include <array>

#include "store/store_impl.hpp"

namespace hiegate::daemon {
namespace {

// Every record table commits durably (synchronous=FULL): users and
// consents too, since a withdrawal or a suspension answered 200 must not
// come undone at a power loss. Only the cache of other facilities'
// documents (cache.cpp) does without.
constexpr bool kDurable = true;

/// SELECT sealed FROM <table> WHERE key_hash=? — one stable string per
/// table, so that the reader connections keep it prepared.
const char* select_sql(RecordTable t) {
  static const std::array<std::string, 6> sql = [] {
    std::array<std::string, 6> out;
    for (int i = 0; i < 6; ++i) {
      out[static_cast<std::size_t>(i)] =
          std::string("SELECT sealed FROM ") + table_name(static_cast<RecordTable>(i)) + " WHERE key_hash=?";
    }
    return out;
  }();
  return sql.at(static_cast<std::size_t>(t)).c_str();
}

/// `done`, after which a memoized table forgets `key` (a write of it
/// committed or failed; either way the next read goes to the database).
Callback<void> forgetting(Store::Impl& s, RecordTable t, std::string key, Callback<void> done) {
  if (!Store::Impl::memoized(t)) return done;
  return [&s, t, key = std::move(key), done = std::move(done)](Result<void> st) {
    s.forget(t, key);
    done(std::move(st));
  };
}

std::string kind(RecordTable t, const char* what) { return std::string(table_name(t)) + ":" + what; }

Result<StoredRecord> record_from(Result<std::vector<std::string>> f) {
  if (!f) return std::move(f).error();
  return StoredRecord{std::move((*f)[0]), std::move((*f)[1]), std::move((*f)[2])};
}

Result<bool> erase_all_versions(Store::Impl& s, sqlite::Db& db, RecordTable t, const std::string& key) {
  bool any = false;
  auto del = db.prepare(std::string("DELETE FROM ") + table_name(t) + " WHERE key_hash=?");
  if (!del) return std::move(del).error();
  for (const auto v : s.lookup_versions()) {
    if (auto st = del->bind(1, ByteView(s.hash(v, kind(t, "key"), key))).run(); !st) return std::move(st).error();
    any = any || db.changes() > 0;
    del->reset();
  }
  return any;
}

}  // namespace

void Store::put_record(RecordTable t, StoredRecord rec, Callback<void> done) {
  Impl& s = *impl_;
  done = forgetting(s, t, rec.key, std::move(done));
  s.write<void>(kDurable, std::move(done), [&s, t, rec = std::move(rec)](sqlite::Db& db) -> Status {
    if (rec.key.empty()) return make_error("invalid_argument", "a record needs a key");
    if (auto e = erase_all_versions(s, db, t, rec.key); !e) return std::move(e).error();
    const auto v = s.write_version();
    const IdHash kh = s.hash(v, kind(t, "key"), rec.key);
    const Bytes sealed = crypto::seal(*s.ring(), v, crypto::Binding{table_name(t), kh},
                                      store::pack({rec.key, rec.group, rec.value}));
    auto ins = db.prepare(std::string("INSERT INTO ") + table_name(t) +
                          "(key_hash, group_hash, key_version, sealed) VALUES(?, ?, ?, ?)");
    if (!ins) return std::move(ins).error();
    ins->bind(1, ByteView(kh)).bind(3, std::int64_t{v}).bind(4, ByteView(sealed));
    if (!rec.group.empty()) ins->bind(2, ByteView(s.hash(v, kind(t, "group"), rec.group)));
    return ins->run();
  });
}

void Store::get_record(RecordTable t, std::string key, Callback<StoredRecord> done) {
  Impl& s = *impl_;
  if (Impl::memoized(t)) {
    std::optional<std::optional<StoredRecord>> hit;
    std::uint64_t generation = 0;
    {
      std::lock_guard lock(s.memo.mu);
      const auto it = s.memo.entries.find({t, key});
      if (it != s.memo.entries.end()) hit = it->second;
      generation = s.memo.generation;
    }
    if (hit) {
      if (*hit) return done(std::move(**hit));
      return done(make_error("not_found", std::string("no such record in ") + table_name(t)));
    }
    done = [&s, t, key, generation, done = std::move(done)](Result<StoredRecord> r) {
      if (r || r.error().code == "not_found") {
        std::lock_guard lock(s.memo.mu);
        if (s.memo.generation == generation) {
          if (s.memo.entries.size() >= Impl::RecordMemo::kMaxEntries) s.memo.entries.clear();
          s.memo.entries[{t, key}] = r ? std::optional<StoredRecord>(*r) : std::nullopt;
        }
      }
      done(std::move(r));
    };
  }
  s.read<StoredRecord>(std::move(done), [&s, t, key = std::move(key)](sqlite::Db& db) -> Result<StoredRecord> {
    auto q = db.cached(select_sql(t));
    if (!q) return std::move(q).error();
    for (const auto v : s.lookup_versions()) {
      const IdHash kh = s.hash(v, kind(t, "key"), key);
      (*q)->reset();
      auto r = (*q)->bind(1, ByteView(kh)).step();
      if (!r) return std::move(r).error();
      if (*r) {
        auto out = record_from(s.open_row(table_name(t), kh, (*q)->blob(0), 3));
        (*q)->reset();  // a kept statement left on a row would pin this reader's snapshot
        return out;
      }
    }
    return make_error("not_found", std::string("no such record in ") + table_name(t));
  });
}

namespace {
/// Appends the rows `q` yields (key_hash, sealed), opened; corrupt rows are
/// reported by open_row and skipped, as are rows of another group when
/// `group` is given.
Status collect(Store::Impl& s, RecordTable t, sqlite::Stmt& q, const std::string* group,
               std::vector<StoredRecord>& out) {
  for (;;) {
    auto r = q.step();
    if (!r) return std::move(r).error();
    if (!*r) return {};
    auto rec = record_from(s.open_row(table_name(t), store::to_hash(q.blob(0)), q.blob(1), 3));
    if (rec && (group == nullptr || rec->group == *group)) out.push_back(std::move(*rec));
  }
}
}  // namespace

void Store::list_records(RecordTable t, std::string group, Callback<std::vector<StoredRecord>> done) {
  Impl& s = *impl_;
  s.read<std::vector<StoredRecord>>(std::move(done), [&s, t, group = std::move(group)](sqlite::Db& db)
                                                         -> Result<std::vector<StoredRecord>> {
    auto q = db.prepare(std::string("SELECT key_hash, sealed FROM ") + table_name(t) +
                        " WHERE group_hash=? ORDER BY rowid");
    if (!q) return std::move(q).error();
    std::vector<StoredRecord> out;
    for (const auto v : s.lookup_versions()) {
      q->reset();
      q->bind(1, ByteView(s.hash(v, kind(t, "group"), group)));
      if (auto st = collect(s, t, *q, &group, out); !st) return std::move(st).error();
    }
    return out;
  });
}

void Store::list_all_records(RecordTable t, Callback<std::vector<StoredRecord>> done) {
  Impl& s = *impl_;
  s.read<std::vector<StoredRecord>>(std::move(done), [&s, t](sqlite::Db& db) -> Result<std::vector<StoredRecord>> {
    auto q = db.prepare(std::string("SELECT key_hash, sealed FROM ") + table_name(t) + " ORDER BY rowid");
    if (!q) return std::move(q).error();
    std::vector<StoredRecord> out;
    if (auto st = collect(s, t, *q, nullptr, out); !st) return std::move(st).error();
    return out;
  });
}

void Store::count_records(RecordTable t, Callback<std::uint64_t> done) {
  impl_->read<std::uint64_t>(std::move(done), [t](sqlite::Db& db) -> Result<std::uint64_t> {
    auto q = db.prepare(std::string("SELECT COUNT(*) FROM ") + table_name(t));
    if (!q) return std::move(q).error();
    auto row = q->step();
    if (!row) return std::move(row).error();
    return *row ? static_cast<std::uint64_t>(q->int64(0)) : 0U;
  });
}

void Store::erase_record(RecordTable t, std::string key, Callback<void> done) {
  Impl& s = *impl_;
  done = forgetting(s, t, key, std::move(done));
  s.write<void>(kDurable, std::move(done), [&s, t, key = std::move(key)](sqlite::Db& db) -> Status {
    auto e = erase_all_versions(s, db, t, key);
    if (!e) return std::move(e).error();
    if (!*e) return make_error("not_found", std::string("no such record in ") + table_name(t));
    return {};
  });
}

}  // namespace hiegate::daemon
