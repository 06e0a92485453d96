// Schema migrations (PRAGMA user_version), the meta table and the key check.
#include <string>

#include "hiegate/crypto/primitives.hpp"
#include "store/store_impl.hpp"

namespace hiegate::daemon::store {
namespace {

// Sealed key -> value table: key_hash/group_hash are keyed identifier hashes,
// `sealed` holds the key, group and value, bound to (table, key_hash).
std::string record_table(const char* name) {
  const std::string n = name;
  return "CREATE TABLE " + n +
         "(key_hash BLOB NOT NULL UNIQUE, group_hash BLOB, key_version INTEGER NOT NULL, sealed BLOB NOT NULL);"
         "CREATE INDEX " + n + "_group ON " + n + "(group_hash);";
}

// Index i migrates from user_version i to i+1. Append only; never edit a
// released step.
std::string migration(int from) {
  switch (from) {
    case 0:
      return "CREATE TABLE meta(name TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;"
             "CREATE TABLE documents(id_hash BLOB NOT NULL UNIQUE, patient_hash BLOB NOT NULL,"
             " key_version INTEGER NOT NULL, sealed BLOB NOT NULL, content_header BLOB NOT NULL);"
             "CREATE INDEX documents_patient ON documents(patient_hash);"
             "CREATE TABLE cache(id_hash BLOB NOT NULL UNIQUE, key_version INTEGER NOT NULL,"
             " sealed BLOB NOT NULL, content_header BLOB NOT NULL, size INTEGER NOT NULL,"
             " expires_at INTEGER NOT NULL, last_used INTEGER NOT NULL);"
             "CREATE INDEX cache_lru ON cache(last_used);"
             "CREATE INDEX cache_expiry ON cache(expires_at);"
             "CREATE TABLE chunks(owner TEXT NOT NULL, id_hash BLOB NOT NULL, seq INTEGER NOT NULL,"
             " data BLOB NOT NULL, PRIMARY KEY(owner, id_hash, seq)) WITHOUT ROWID;"
             "CREATE TABLE quarantine(id INTEGER PRIMARY KEY, source TEXT NOT NULL, key_hash BLOB NOT NULL,"
             " code TEXT NOT NULL, detected_at INTEGER NOT NULL, sealed BLOB, content_header BLOB);" +
             record_table("consents") + record_table("users") + record_table("exports") +
             record_table("directives") + record_table("audit");
    case 1:  // break-glass windows, kept across restarts for review
      return record_table("emergencies");
    case 2:
      // Chunks in a rowid table, keyed by a separate index: in the WITHOUT
      // ROWID table every key comparison of a lookup read a whole chunk (up
      // to 64 KiB) off its overflow pages, since those rows live in the
      // index b-tree itself.
      return "CREATE TABLE chunks_v3(owner TEXT NOT NULL, id_hash BLOB NOT NULL, seq INTEGER NOT NULL,"
             " data BLOB NOT NULL, UNIQUE(owner, id_hash, seq));"
             "INSERT INTO chunks_v3(owner, id_hash, seq, data) SELECT owner, id_hash, seq, data FROM chunks"
             " ORDER BY owner, id_hash, seq;"
             "DROP TABLE chunks;"
             "ALTER TABLE chunks_v3 RENAME TO chunks;";
    default: return {};
  }
}

}  // namespace

Result<int> schema_version(sqlite::Db& db) {
  auto v = db.scalar("PRAGMA user_version");
  if (!v) return std::move(v).error();
  return static_cast<int>(*v);
}

Status migrate(sqlite::Db& db) {
  auto v = schema_version(db);
  if (!v) return std::move(v).error();
  if (*v > kStoreSchemaVersion) {
    return make_error("schema_too_new", "the store has schema version " + std::to_string(*v) +
                                            " but this build knows only up to " +
                                            std::to_string(kStoreSchemaVersion) + "; run a newer hiegate");
  }
  for (int from = *v; from < kStoreSchemaVersion; ++from) {
    auto st = sqlite::transaction(db, [&]() -> Status {
      if (auto s = db.exec(migration(from)); !s) return s;
      return db.exec("PRAGMA user_version=" + std::to_string(from + 1));
    });
    if (!st) return st;
  }
  return {};
}

Result<std::optional<Bytes>> meta_get(sqlite::Db& db, std::string_view name) {
  auto s = db.cached("SELECT value FROM meta WHERE name=?");
  if (!s) return std::move(s).error();
  return (*s)->bind(1, name).first_blob();
}

Status meta_put(sqlite::Db& db, std::string_view name, ByteView value) {
  auto s = db.cached("INSERT INTO meta(name, value) VALUES(?, ?) ON CONFLICT(name) DO UPDATE SET value=excluded.value");
  if (!s) return std::move(s).error();
  return (*s)->bind(1, name).bind(2, value).run();
}

Status meta_erase(sqlite::Db& db, std::string_view name) {
  auto s = db.cached("DELETE FROM meta WHERE name=?");
  if (!s) return std::move(s).error();
  return (*s)->bind(1, name).run();
}

Result<std::int64_t> meta_int(sqlite::Db& db, std::string_view name, std::int64_t fallback) {
  auto v = meta_get(db, name);
  if (!v) return std::move(v).error();
  if (!*v) return fallback;
  return std::stoll(std::string((*v)->begin(), (*v)->end()));
}

Status meta_put_int(sqlite::Db& db, std::string_view name, std::int64_t value) {
  return meta_put(db, name, crypto::as_bytes(std::to_string(value)));
}

Result<std::uint32_t> verify_keys(sqlite::Db& db, const crypto::KeyRing& keys) {
  auto version = schema_version(db);
  if (!version) return std::move(version).error();
  if (*version == 0) return 0u;  // new store
  auto current = meta_int(db, "key_version", 0);
  if (!current) return std::move(current).error();
  auto target = meta_int(db, "rekey_target", 0);
  if (!target) return std::move(target).error();
  for (const auto v : keys.versions()) {
    auto kcv = meta_get(db, "kcv." + std::to_string(v));
    if (!kcv) return std::move(kcv).error();
    if (*kcv && !crypto::equal_constant_time(**kcv, keys.check_value(v))) {
      return make_error("master_key_mismatch",
                        "master key version " + std::to_string(v) +
                            " does not match this store (key check value differs); supply the store's key or "
                            "restore the matching key file");
    }
  }
  for (const auto needed : {*current, *target}) {
    if (needed == 0) continue;
    auto kcv = meta_get(db, "kcv." + std::to_string(needed));
    if (!kcv) return std::move(kcv).error();
    if (!keys.has(static_cast<std::uint32_t>(needed)) || !*kcv) {
      return make_error("key_unavailable", "the store has records sealed with key version " +
                                               std::to_string(needed) + "; provide that key (master-key" +
                                               (needed == 1 ? std::string() : "." + std::to_string(needed)) +
                                               ") at least until a rekey has finished");
    }
  }
  return static_cast<std::uint32_t>(*current);
}

std::string quarantine_owner(std::string_view table) { return "quarantine:" + std::string(table); }

}  // namespace hiegate::daemon::store
