#include "store/sqlite.hpp"

namespace hiegate::daemon::sqlite {

Error error_from(sqlite3* db, int rc, std::string_view what) {
  const std::string detail = std::string(what) + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  switch (rc & 0xff) {
    case SQLITE_FULL:
      return make_error("store_full", detail + " (the disk or the store's size limit is full; free space and retry)");
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB: return make_error("store_corrupt", detail);
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return make_error("store_busy", detail);
    case SQLITE_READONLY:
    case SQLITE_CANTOPEN:
    case SQLITE_PERM: return make_error("store_readonly", detail);
    default: return make_error("store_io", detail);
  }
}

Result<bool> Stmt::step() {
  const int rc = sqlite3_step(s_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  auto err = error_from(sqlite3_db_handle(s_), rc, "statement failed");
  sqlite3_reset(s_);
  return err;
}

Result<std::optional<Bytes>> Stmt::first_blob() {
  auto r = step();
  if (!r) return std::move(r).error();
  std::optional<Bytes> out;
  if (*r) out = bytes(0);
  reset();
  return out;
}

Status Stmt::run() {
  for (;;) {
    auto r = step();
    if (!r) return std::move(r).error();
    if (!*r) return {};
  }
}

Result<Db> Db::open(const std::filesystem::path& file, bool readonly, bool create) {
  sqlite3* raw = nullptr;
  int flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
  flags |= readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
  if (create && !readonly) flags |= SQLITE_OPEN_CREATE;
  const int rc = sqlite3_open_v2(file.c_str(), &raw, flags, nullptr);
  Db db;
  db.h_.reset(raw);
  if (rc != SQLITE_OK) return error_from(raw, rc, "cannot open " + file.string());
  sqlite3_busy_timeout(raw, 5000);
  sqlite3_extended_result_codes(raw, 1);
  return db;
}

Status Db::exec(const std::string& sql) {
  char* msg = nullptr;
  const int rc = sqlite3_exec(h_.get(), sql.c_str(), nullptr, nullptr, &msg);
  sqlite3_free(msg);
  if (rc != SQLITE_OK) return error_from(h_.get(), rc, "statement failed");
  return {};
}

Result<Stmt> Db::prepare(std::string_view sql) {
  sqlite3_stmt* s = nullptr;
  const int rc = sqlite3_prepare_v2(h_.get(), sql.data(), static_cast<int>(sql.size()), &s, nullptr);
  if (rc != SQLITE_OK) return error_from(h_.get(), rc, "cannot prepare statement");
  return Stmt(s);
}

Result<Stmt*> Db::cached(const char* sql) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    auto s = prepare(sql);
    if (!s) return std::move(s).error();
    it = cache_.emplace(sql, std::move(*s)).first;
  }
  it->second.reset();
  return &it->second;
}

Result<std::int64_t> Db::scalar(const std::string& sql) {
  auto s = prepare(sql);
  if (!s) return std::move(s).error();
  auto r = s->step();
  if (!r) return std::move(r).error();
  return *r ? s->int64(0) : 0;
}

}  // namespace hiegate::daemon::sqlite
