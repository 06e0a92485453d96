// Cache of documents fetched from other facilities: TTL and LRU size cap.
#include "store/store_impl.hpp"

namespace hiegate::daemon {

std::string store::cache_id(std::string_view facility, std::string_view document_id) {
  const Bytes b = store::pack({facility, document_id});
  return {b.begin(), b.end()};
}

namespace {

using store::cache_id;

struct CacheRow {
  IdHash id;
  Bytes sealed;
  Bytes header;
  std::int64_t expires_at;
};

Result<CacheRow> find_cached(Store::Impl& s, sqlite::Db& db, const std::string& key, std::int64_t now) {
  for (const auto v : s.lookup_versions()) {
    const IdHash h = s.hash(v, "cache", key);
    auto q = db.cached("SELECT sealed, content_header, expires_at FROM cache WHERE id_hash=?");
    if (!q) return std::move(q).error();
    (*q)->bind(1, ByteView(h));
    auto r = (*q)->step();
    if (!r) return std::move(r).error();
    if (!*r) continue;
    CacheRow row{h, (*q)->bytes(0), (*q)->bytes(1), (*q)->int64(2)};
    (*q)->reset();
    if (row.expires_at <= now) return make_error("not_found", "cached document has expired");
    return row;
  }
  return make_error("not_found", "document is not cached");
}

Status delete_cached(sqlite::Db& db, ByteView id) {
  auto del = db.cached("DELETE FROM cache WHERE id_hash=?");
  if (!del) return std::move(del).error();
  if (auto s = (*del)->bind(1, id).run(); !s) return s;
  return store::delete_content(db, "cache", id);
}

// Deletes rows selected by `select_ids` (one id_hash column); returns how many.
Result<std::uint64_t> delete_where(sqlite::Db& db, sqlite::Stmt& select_ids) {
  std::vector<Bytes> ids;
  for (;;) {
    auto r = select_ids.step();
    if (!r) return std::move(r).error();
    if (!*r) break;
    ids.push_back(select_ids.bytes(0));
  }
  select_ids.reset();
  for (const auto& id : ids) {
    if (auto s = delete_cached(db, id); !s) return std::move(s).error();
  }
  return ids.size();
}

// Drops expired entries, then the least recently used ones (never `keep`)
// until the total fits the cap.
Status enforce_limits(sqlite::Db& db, std::int64_t now, std::uint64_t cap, const IdHash& keep) {
  auto expired = db.cached("SELECT id_hash FROM cache WHERE expires_at<=?");
  if (!expired) return std::move(expired).error();
  (*expired)->bind(1, now);
  if (auto n = delete_where(db, **expired); !n) return std::move(n).error();
  for (;;) {
    auto total = db.scalar("SELECT coalesce(sum(size), 0) FROM cache");
    if (!total) return std::move(total).error();
    if (static_cast<std::uint64_t>(*total) <= cap) return {};
    auto lru = db.cached("SELECT id_hash FROM cache WHERE id_hash<>? ORDER BY last_used, rowid LIMIT 1");
    if (!lru) return std::move(lru).error();
    (*lru)->bind(1, ByteView(keep));
    auto n = delete_where(db, **lru);
    if (!n) return std::move(n).error();
    if (*n == 0) return make_error("cache_too_large", "the document is larger than the whole cache");
  }
}

// A read of a cached document: noted in memory (Store::Impl::touches).
void touch(Store::Impl& s, const IdHash& id, std::int64_t now) {
  std::lock_guard lock(s.touches.mu);
  auto& t = s.touches.last_used[id];
  t = std::max(t, now);
}

// Inside a cache write, before it evicts: the reads noted since the last
// one (cache_put puts them back if its write does not commit).
Status apply_touches(sqlite::Db& db, const std::map<IdHash, std::int64_t>& touched) {
  for (const auto& [id, when] : touched) {
    auto q = db.cached("UPDATE cache SET last_used=max(last_used, ?) WHERE id_hash=?");
    if (!q) return std::move(q).error();
    if (auto st = (*q)->bind(1, when).bind(2, ByteView(id)).run(); !st) return st;
  }
  return {};
}

std::map<IdHash, std::int64_t> take_touches(Store::Impl& s) {
  std::lock_guard lock(s.touches.mu);
  return std::exchange(s.touches.last_used, {});
}

void restore_touches(Store::Impl& s, const std::map<IdHash, std::int64_t>& touched) {
  std::lock_guard lock(s.touches.mu);
  for (const auto& [id, when] : touched) {
    auto& t = s.touches.last_used[id];
    t = std::max(t, when);
  }
}

}  // namespace

void Store::cache_put(CachedDocument doc, crypto::Source content, std::int64_t now, Callback<void> done) {
  Impl& s = *impl_;
  // The reads noted since the last cache write, taken on the writer thread;
  // put back if this write does not commit.
  auto touched = std::make_shared<std::map<IdHash, std::int64_t>>();
  auto reported = [&s, touched, done = std::move(done)](Result<void> r) {
    if (!r) restore_touches(s, *touched);
    done(std::move(r));
  };
  s.write<void>(false, std::move(reported), [&s, touched, doc = std::move(doc), content = std::move(content),
                                             now](sqlite::Db& db) -> Status {
    *touched = take_touches(s);
    if (auto st = apply_touches(db, *touched); !st) return st;
    const std::string key = cache_id(doc.facility, doc.document_id);
    for (const auto v : s.lookup_versions()) {
      if (auto st = delete_cached(db, s.hash(v, "cache", key)); !st) return st;
    }
    const auto v = s.write_version();
    const IdHash id = s.hash(v, "cache", key);
    auto c = store::write_content(db, *s.ring(), v, "cache", id, content);
    if (!c) return std::move(c).error();
    const Bytes sealed = crypto::seal(*s.ring(), v, crypto::Binding{"cache", id},
                                      store::pack({doc.facility, doc.document_id, doc.metadata_json,
                                                   std::to_string(c->second)}));
    auto ins = db.cached("INSERT INTO cache(id_hash, key_version, sealed, content_header, size, expires_at, last_used)"
                         " VALUES(?, ?, ?, ?, ?, ?, ?)");
    if (!ins) return std::move(ins).error();
    if (auto st = (*ins)->bind(1, ByteView(id)).bind(2, std::int64_t{v}).bind(3, ByteView(sealed))
                      .bind(4, ByteView(c->first)).bind(5, static_cast<std::int64_t>(c->second))
                      .bind(6, now + s.opt.cache_ttl_seconds).bind(7, now).run();
        !st) {
      return st;
    }
    return enforce_limits(db, now, s.opt.cache_max_bytes, id);
  });
}

void Store::cache_get(std::string facility, std::string document_id, std::int64_t now, Callback<CachedDocument> done) {
  Impl& s = *impl_;
  s.read<CachedDocument>(std::move(done), [&s, key = cache_id(facility, document_id), now](sqlite::Db& db)
                                              -> Result<CachedDocument> {
    auto row = find_cached(s, db, key, now);
    if (!row) return std::move(row).error();
    auto f = s.open_row("cache", row->id, row->sealed, 4);
    if (!f) return std::move(f).error();
    touch(s, row->id, now);
    return CachedDocument{std::move((*f)[0]), std::move((*f)[1]), std::move((*f)[2]), row->expires_at,
                          std::stoull((*f)[3])};
  });
}

void Store::cache_read(std::string facility, std::string document_id, std::int64_t now, crypto::Sink out,
                       Callback<void> done) {
  Impl& s = *impl_;
  s.read<void>(std::move(done), [&s, key = cache_id(facility, document_id), now, out = std::move(out)](sqlite::Db& db)
                                    -> Status {
    auto row = find_cached(s, db, key, now);
    if (!row) return std::move(row).error();
    auto st = store::read_content(db, *s.ring(), "cache", row->id, row->header, &out);
    if (!st && is_integrity_error(st.error())) s.report_corrupt("cache", row->id, row->sealed, st.error().code);
    if (st) touch(s, row->id, now);
    return st;
  });
}

void Store::cache_purge(std::int64_t now, bool all, Callback<std::uint64_t> done) {
  Impl& s = *impl_;
  s.write<std::uint64_t>(false, std::move(done), [now, all](sqlite::Db& db) -> Result<std::uint64_t> {
    auto q = db.cached("SELECT id_hash FROM cache WHERE ? OR expires_at<=?");
    if (!q) return std::move(q).error();
    (*q)->bind(1, std::int64_t{all ? 1 : 0}).bind(2, now);
    return delete_where(db, **q);
  });
}

void Store::cache_purge_before(std::int64_t before, Callback<std::uint64_t> done) {
  Impl& s = *impl_;
  s.write<std::uint64_t>(false, std::move(done), [&s, before](sqlite::Db& db) -> Result<std::uint64_t> {
    auto q = db.cached("SELECT id_hash FROM cache WHERE expires_at<?");
    if (!q) return std::move(q).error();
    (*q)->bind(1, before + s.opt.cache_ttl_seconds);
    return delete_where(db, **q);
  });
}

}  // namespace hiegate::daemon
