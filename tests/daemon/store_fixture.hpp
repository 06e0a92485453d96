// Helpers for the store tests: key rings, blocking waits on callbacks,
// in-memory sources and sinks.
#pragma once

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <map>
#include <memory>
#include <string>

#include "hiegate/daemon/store.hpp"
#include "hiegate/daemon/store_wait.hpp"
#include "support/temp_dir.hpp"

namespace hiegate::daemon::testing {

inline std::shared_ptr<const crypto::KeyRing> make_ring(std::map<std::uint32_t, char> versions) {
  std::map<std::uint32_t, crypto::Bytes> raw;
  std::map<std::uint32_t, crypto::ByteView> views;
  for (auto [v, c] : versions) raw[v] = crypto::Bytes(crypto::kMasterKeySize, static_cast<std::uint8_t>(c));
  for (auto& [v, b] : raw) views[v] = b;
  return std::make_shared<const crypto::KeyRing>(std::move(crypto::KeyRing::from_master_keys(views)).value());
}

template <class T, class Start>
Result<T> wait(Start&& start) {
  return wait_for<T>(std::forward<Start>(start));
}

inline crypto::Source source_of(std::string data) {
  auto s = std::make_shared<std::string>(std::move(data));
  auto pos = std::make_shared<std::size_t>(0);
  return [s, pos](std::span<std::uint8_t> out) -> Result<std::size_t> {
    const std::size_t n = std::min(out.size(), s->size() - *pos);
    std::copy_n(s->data() + *pos, n, out.data());
    *pos += n;
    return n;
  };
}

inline crypto::Sink sink_into(std::string& out) {
  return [&out](crypto::ByteView d) -> Status {
    out.append(reinterpret_cast<const char*>(d.data()), d.size());
    return {};
  };
}

// Blocking wrappers used throughout the tests.
inline Status publish(Store& s, DocumentRecord d, std::string content) {
  return wait<void>([&](auto cb) { s.publish(std::move(d), source_of(std::move(content)), cb); });
}
inline Result<DocumentRecord> get_document(Store& s, const std::string& id) {
  return wait<DocumentRecord>([&](auto cb) { s.get_document(id, cb); });
}
inline Result<std::string> read_content(Store& s, const std::string& id) {
  std::string out;
  auto st = wait<void>([&](auto cb) { s.read_content(id, sink_into(out), cb); });
  if (!st) return std::move(st).error();
  return out;
}
inline Status put_record(Store& s, RecordTable t, StoredRecord r) {
  return wait<void>([&](auto cb) { s.put_record(t, std::move(r), cb); });
}
inline Result<StoredRecord> get_record(Store& s, RecordTable t, const std::string& key) {
  return wait<StoredRecord>([&](auto cb) { s.get_record(t, key, cb); });
}
inline Result<CheckReport> check(Store& s) {
  return wait<CheckReport>([&](auto cb) { s.check(cb); });
}

/// `n` letters in a pattern that differs with `salt` and within a chunk.
inline std::string pattern(std::size_t n, char salt) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i * 31 + static_cast<std::size_t>(salt)) % 26);
  return s;
}

inline DocumentRecord doc(std::string patient, std::string id, std::string meta = "{}") {
  return DocumentRecord{std::move(patient), std::move(id), std::move(meta), 1700000000, 0};
}

inline Result<std::unique_ptr<Store>> open_store(const test::TempDir& dir,
                                                 std::shared_ptr<const crypto::KeyRing> keys,
                                                 StoreOptions opt = {}) {
  opt.dir = dir / "state";
  return Store::open(std::move(opt), std::move(keys));
}

// Direct access to the database file, for tests that tamper with it.
inline void sql(const test::TempDir& dir, const std::string& statement) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir / "state" / kStoreFileName).c_str(), &db), SQLITE_OK);
  char* err = nullptr;
  const int rc = sqlite3_exec(db, statement.c_str(), nullptr, nullptr, &err);
  const std::string msg = err ? err : "";
  sqlite3_free(err);
  sqlite3_close(db);
  ASSERT_EQ(rc, SQLITE_OK) << msg;
}

inline std::int64_t count(const test::TempDir& dir, const std::string& query) {
  sqlite3* db = nullptr;
  sqlite3_open((dir / "state" / kStoreFileName).c_str(), &db);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db, query.c_str(), -1, &st, nullptr);
  std::int64_t n = -1;
  if (sqlite3_step(st) == SQLITE_ROW) n = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return n;
}

// Flips one bit of `col` at byte `offset` in the rows matched by `where`.
inline void flip(const test::TempDir& dir, const std::string& table, const std::string& col, const std::string& where,
          int offset) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir / "state" / kStoreFileName).c_str(), &db), SQLITE_OK);
  sqlite3_stmt* sel = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, ("SELECT " + col + " FROM " + table + " WHERE " + where).c_str(), -1, &sel,
                               nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(sel), SQLITE_ROW);
  const auto* p = static_cast<const std::uint8_t*>(sqlite3_column_blob(sel, 0));
  std::vector<std::uint8_t> blob(p, p + sqlite3_column_bytes(sel, 0));
  sqlite3_finalize(sel);
  blob.at(static_cast<std::size_t>(offset)) ^= 0x01;
  sqlite3_stmt* up = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, ("UPDATE " + table + " SET " + col + " = ? WHERE " + where).c_str(), -1, &up,
                               nullptr), SQLITE_OK);
  sqlite3_bind_blob(up, 1, blob.data(), static_cast<int>(blob.size()), SQLITE_TRANSIENT);
  ASSERT_EQ(sqlite3_step(up), SQLITE_DONE);
  sqlite3_finalize(up);
  sqlite3_close(db);
}

}  // namespace hiegate::daemon::testing
