// Helpers for black-box tests of the encrypted state: publishing through a
// real hiegated, running hiegatectl against its state directory, tampering
// with the database file and snapshotting files to prove them unchanged.
#pragma once

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <nlohmann/json.hpp>

#include "hiegate/crypto/encoding.hpp"
#include "integration/gateway.hpp"

namespace hiegate::test::state {

inline void add_user(const Gateway& gw, const std::string& id, const std::string& role,
                     const std::string& department = "内科") {
  const auto r = gw.put_user(id, nlohmann::json{{"role", role}, {"department", department}}.dump());
  ASSERT_EQ(r.status, 200) << r.body;
}

/// PUT /v1/documents/{id} as clerk-1 (who must exist).
inline void publish(const Gateway& gw, const std::string& id, const std::string& patient, const std::string& title,
                    const std::string& content = R"({"resourceType":"Bundle","type":"document"})") {
  const nlohmann::json body = {{"patient", patient},
                               {"type", "summary"},
                               {"title", title},
                               {"created", "2026-11-20T10:00:00Z"},
                               {"content_type", "application/fhir+json"},
                               {"content_base64", crypto::to_base64(crypto::as_bytes(content))}};
  const auto r = gw.call("PUT", "/v1/documents/" + id, {{"X-HIE-User", "clerk-1"}}, body.dump());
  ASSERT_EQ(r.status, 200) << r.body;
}

/// GET /v1/documents/{id} as clerk-1: the HTTP status.
inline int read_document(const Gateway& gw, const std::string& id) {
  return gw.call("GET", "/v1/documents/" + id, {{"X-HIE-User", "clerk-1"}}).status;
}

/// hiegatectl <args...> --state-dir <gw>/state --key <key>.
inline RunResult ctl(const Gateway& gw, std::vector<std::string> args, const std::string& key_file = "master-key") {
  args.insert(args.begin(), binary("hiegatectl").string());
  args.insert(args.end(), {"--state-dir", (gw.dir() / "state").string(), "--key", (gw.dir() / key_file).string()});
  return run(args);
}

/// Every regular file under `root` with its content.
inline std::map<std::string, std::string> snapshot(const std::filesystem::path& root) {
  std::map<std::string, std::string> out;
  for (const auto& e : std::filesystem::recursive_directory_iterator(root)) {
    if (e.is_regular_file()) out[e.path().string()] = read_file(e.path());
  }
  return out;
}

/// snapshot() without the audit trail (audit.db*, audit.lock, audit-spool/),
/// which records refused admin commands too.
inline std::map<std::string, std::string> store_snapshot(const std::filesystem::path& root) {
  auto out = snapshot(root);
  std::erase_if(out, [&](const auto& kv) {
    return std::filesystem::relative(kv.first, root).string().starts_with("audit");
  });
  return out;
}

/// Flips one bit of `col` at byte `offset` in the first row matching `where`
/// (in rowid order) of `table` in the SQLite file `db_file` (the daemon must be stopped).
inline void flip_byte(const std::filesystem::path& db_file, const std::string& table, const std::string& col,
                      const std::string& where, int offset) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(db_file.c_str(), &db), SQLITE_OK);
  const std::string sql = "UPDATE " + table + " SET " + col + " = CAST(substr(" + col + ", 1, " + std::to_string(offset) +
                          ") || CASE WHEN substr(" + col + ", " + std::to_string(offset + 1) +
                          ", 1) = X'00' THEN X'01' ELSE X'00' END || substr(" + col + ", " +
                          std::to_string(offset + 2) + ") AS BLOB) WHERE rowid = (SELECT rowid FROM " + table + " WHERE " +
                          where + " ORDER BY rowid LIMIT 1)";
  char* err = nullptr;
  EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "");
  sqlite3_free(err);
  EXPECT_EQ(sqlite3_changes(db), 1);
  sqlite3_close(db);
}

}  // namespace hiegate::test::state
