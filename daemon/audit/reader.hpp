// AuditReader internals shared by reader.cpp and verify.cpp. Private.
#pragma once

#include "audit/chain.hpp"

namespace hiegate::daemon {

struct AuditReader::Impl {
  sqlite::Db db;
  std::shared_ptr<const audit::Keys> keys;
};

namespace audit {

/// One row of audit_records as stored.
struct Row {
  std::uint64_t seq = 0;
  std::int64_t time_ms = 0;
  std::string event, action;
  std::int64_t outcome = 0, emergency = 0;
  std::uint32_t key_version = 0;
  crypto::Bytes patient_h, user_h, body, hash;
};

inline constexpr std::string_view kSelectRows =
    "SELECT seq, time_ms, event, action, outcome, emergency, key_version, patient_h, user_h, body, hash "
    "FROM audit_records ";
/// kSelectRows followed by `rest` (WHERE / ORDER BY ...).
[[nodiscard]] inline std::string select_rows(std::string_view rest) {
  std::string sql(kSelectRows);
  sql.append(rest);
  return sql;
}
[[nodiscard]] Row read_row(const sqlite::Stmt& s);

/// The opened, decoded body of a row and its exact plaintext bytes.
struct Opened {
  std::string plain;
  AuditEntry entry;
};
/// Errors: record_corrupt / key_unavailable / record_malformed.
Result<Opened> open_row(const Keys& keys, const Row& row);
/// Empty if the plaintext columns agree with the body, else the first
/// column that differs.
[[nodiscard]] std::string column_mismatch(const Keys& keys, const Row& row, const AuditEntry& e);

}  // namespace audit
}  // namespace hiegate::daemon
