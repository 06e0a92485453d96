// RAII over the sqlite3 C API, private to the store.
// A Db is used by one thread at a time (the store gives each thread its own).
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "hiegate/common/result.hpp"
#include "hiegate/crypto/encoding.hpp"

namespace hiegate::daemon::sqlite {

using crypto::ByteView;
using crypto::Bytes;

/// Maps an SQLite result code to a stable error: store_full (disk or page
/// limit), store_corrupt, store_busy, store_readonly, store_io.
Error error_from(sqlite3* db, int rc, std::string_view what);

class Stmt {
public:
  Stmt() = default;
  explicit Stmt(sqlite3_stmt* s) : s_(s) {}
  Stmt(Stmt&& o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
  Stmt& operator=(Stmt&& o) noexcept { std::swap(s_, o.s_); return *this; }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  ~Stmt() { sqlite3_finalize(s_); }

  Stmt& bind(int i, ByteView v) { return bind_with(i, v, SQLITE_TRANSIENT); }
  Stmt& bind(int i, std::string_view v) { return bind_with(i, v, SQLITE_TRANSIENT); }
  Stmt& bind(int i, std::int64_t v) { sqlite3_bind_int64(s_, i, v); return *this; }
  /// Binds without a copy: `v` must stay valid until the statement is reset
  /// or rebound (e.g. until run() returns).
  Stmt& bind_static(int i, ByteView v) { return bind_with(i, v, SQLITE_STATIC); }
  Stmt& bind_static(int i, std::string_view v) { return bind_with(i, v, SQLITE_STATIC); }
  /// SQLITE_ROW -> true, SQLITE_DONE -> false, anything else -> error.
  Result<bool> step();
  /// Steps to completion (for statements without rows).
  Status run();
  /// Column 0 of the first row, or nullopt when there is none; resets.
  Result<std::optional<Bytes>> first_blob();
  void reset() { sqlite3_reset(s_); sqlite3_clear_bindings(s_); }

  [[nodiscard]] ByteView blob(int i) const {
    const auto* p = static_cast<const std::uint8_t*>(sqlite3_column_blob(s_, i));
    return {p, static_cast<std::size_t>(sqlite3_column_bytes(s_, i))};
  }
  [[nodiscard]] Bytes bytes(int i) const { auto b = blob(i); return {b.begin(), b.end()}; }
  [[nodiscard]] std::int64_t int64(int i) const { return sqlite3_column_int64(s_, i); }
  [[nodiscard]] std::string text(int i) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s_, i));
    return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(s_, i))) : std::string();
  }
  [[nodiscard]] bool is_null(int i) const { return sqlite3_column_type(s_, i) == SQLITE_NULL; }

private:
  Stmt& bind_with(int i, ByteView v, sqlite3_destructor_type d) {
    sqlite3_bind_blob64(s_, i, v.empty() ? "" : static_cast<const void*>(v.data()), v.size(), d);
    return *this;
  }
  Stmt& bind_with(int i, std::string_view v, sqlite3_destructor_type d) {
    sqlite3_bind_text64(s_, i, v.data(), v.size(), d, SQLITE_UTF8);
    return *this;
  }
  sqlite3_stmt* s_ = nullptr;
};

class Db {
public:
  /// Opens `file`; `readonly` connections never create or write.
  static Result<Db> open(const std::filesystem::path& file, bool readonly, bool create);
  Db() = default;
  Db(Db&&) noexcept = default;
  Db& operator=(Db&&) noexcept = default;

  Status exec(const std::string& sql);
  Result<Stmt> prepare(std::string_view sql);
  /// A prepared statement kept for the connection's life, reset and unbound.
  Result<Stmt*> cached(const char* sql);
  Result<std::int64_t> scalar(const std::string& sql);
  [[nodiscard]] sqlite3* get() const { return h_.get(); }
  [[nodiscard]] std::int64_t changes() const { return sqlite3_changes64(h_.get()); }

private:
  struct Close { void operator()(sqlite3* d) const { sqlite3_close_v2(d); } };
  std::unique_ptr<sqlite3, Close> h_;  // declared first: closed after the statements are finalised
  std::map<const char*, Stmt> cache_;
};

/// Runs `fn` inside BEGIN IMMEDIATE ... COMMIT, rolling back on error.
template <class Fn>
Status transaction(Db& db, Fn&& fn) {
  if (auto s = db.exec("BEGIN IMMEDIATE"); !s) return s;
  Status st = fn();
  if (st) st = db.exec("COMMIT");
  if (!st) (void)db.exec("ROLLBACK");
  return st;
}

}  // namespace hiegate::daemon::sqlite
