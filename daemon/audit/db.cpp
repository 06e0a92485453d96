// audit.db: schema and the small reads shared by the writer and readers.
#include "audit/chain.hpp"

namespace hiegate::daemon::audit {

namespace {

// Format 2: the patient and user lookups moved from per-record indexes to
// segments (audit/lookup.hpp).
constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS audit_meta(k TEXT PRIMARY KEY, v TEXT NOT NULL);
INSERT OR IGNORE INTO audit_meta(k, v) VALUES ('format', '1'), ('anchor_seq', '0');
CREATE TABLE IF NOT EXISTS audit_records(
  seq INTEGER PRIMARY KEY,
  time_ms INTEGER NOT NULL,
  event TEXT NOT NULL,
  action TEXT NOT NULL,
  outcome INTEGER NOT NULL,
  emergency INTEGER NOT NULL,
  key_version INTEGER NOT NULL,
  patient_h BLOB,
  user_h BLOB,
  body BLOB NOT NULL,
  hash BLOB NOT NULL);
DROP INDEX IF EXISTS audit_records_patient;
DROP INDEX IF EXISTS audit_records_user;
CREATE INDEX IF NOT EXISTS audit_records_emergency ON audit_records(time_ms) WHERE emergency = 1;
CREATE TABLE IF NOT EXISTS audit_checkpoints(
  seq INTEGER PRIMARY KEY,
  time_ms INTEGER NOT NULL,
  key_version INTEGER NOT NULL,
  head BLOB NOT NULL,
  public_key BLOB NOT NULL,
  signature BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS audit_lookup(
  seg INTEGER NOT NULL,
  kind INTEGER NOT NULL,
  key BLOB NOT NULL,
  seqs BLOB NOT NULL,
  PRIMARY KEY(seg, kind, key)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS audit_segments(
  seg INTEGER PRIMARY KEY,
  first_seq INTEGER NOT NULL,
  min_ms INTEGER NOT NULL,
  max_ms INTEGER NOT NULL);
INSERT OR IGNORE INTO audit_meta(k, v) VALUES ('indexed_seq', '0');
UPDATE audit_meta SET v = '2' WHERE k = 'format';
)sql";

}  // namespace

Result<sqlite::Db> open_db(const std::filesystem::path& dir, bool readonly) {
  const auto file = dir / kDbName;
  if (readonly && !std::filesystem::exists(file)) {
    return make_error("audit_missing", "no audit trail at " + file.string());
  }
  if (!readonly) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return make_error("audit_unavailable", "cannot create " + dir.string() + ": " + ec.message());
  }
  // A reader opens read-write without creating, so that it can use the WAL
  // index while the daemon writes; it never issues a write.
  auto db = sqlite::Db::open(file, false, !readonly);
  if (!db) return std::move(db).error();
  if (!readonly) {
    if (auto s = db->exec("PRAGMA journal_mode=WAL; PRAGMA secure_delete=ON;"); !s) return std::move(s).error();
    if (auto s = db->exec(kSchema); !s) return std::move(s).error();
  } else {
    auto fmt = db->scalar("SELECT CAST(v AS INTEGER) FROM audit_meta WHERE k = 'format'");
    if (!fmt) return std::move(fmt).error();
    // Format 1 (no lookup index; the writer upgrades it at its next start)
    // reads the same way: every record is in the scanned tail.
    if (*fmt != 1 && *fmt != 2) return make_error("audit_format", "unknown audit trail format in " + file.string());
  }
  return db;
}

Result<std::vector<AuditCheckpoint>> load_checkpoints(sqlite::Db& db) {
  auto st = db.prepare(
      "SELECT seq, time_ms, key_version, head, public_key, signature FROM audit_checkpoints ORDER BY seq");
  if (!st) return std::move(st).error();
  std::vector<AuditCheckpoint> out;
  for (;;) {
    auto row = st->step();
    if (!row) return std::move(row).error();
    if (!*row) break;
    AuditCheckpoint c;
    c.seq = static_cast<std::uint64_t>(st->int64(0));
    c.time_ms = st->int64(1);
    c.key_version = static_cast<std::uint32_t>(st->int64(2));
    c.head = st->bytes(3);
    c.public_key = st->bytes(4);
    c.signature = st->bytes(5);
    out.push_back(std::move(c));
  }
  return out;
}

Result<std::uint64_t> load_anchor(sqlite::Db& db) {
  auto v = db.scalar("SELECT CAST(v AS INTEGER) FROM audit_meta WHERE k = 'anchor_seq'");
  if (!v) return std::move(v).error();
  if (*v < 0) return make_error("audit_format", "negative anchor");
  return static_cast<std::uint64_t>(*v);
}

}  // namespace hiegate::daemon::audit
