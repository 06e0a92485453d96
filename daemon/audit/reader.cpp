// AuditReader: opening, queries and ordered iteration.
#include "audit/reader.hpp"

#include "hiegate/crypto/encoding.hpp"
#include "hiegate/crypto/sealed.hpp"

namespace hiegate::daemon {

namespace audit {

Row read_row(const sqlite::Stmt& s) {
  Row r;
  r.seq = static_cast<std::uint64_t>(s.int64(0));
  r.time_ms = s.int64(1);
  r.event = s.text(2);
  r.action = s.text(3);
  r.outcome = s.int64(4);
  r.emergency = s.int64(5);
  r.key_version = static_cast<std::uint32_t>(s.int64(6));
  r.patient_h = s.bytes(7);
  r.user_h = s.bytes(8);
  r.body = s.bytes(9);
  r.hash = s.bytes(10);
  return r;
}

Result<Opened> open_row(const Keys& keys, const Row& row) {
  const auto v = crypto::sealed_key_version(row.body);
  if (v && !keys.has(*v)) return make_error("key_unavailable", "audit key version " + std::to_string(*v) + " missing");
  auto plain = crypto::open(keys.ring(), {kSealTable, {}}, row.body);
  if (!plain) return std::move(plain).error();
  Opened o;
  o.plain.assign(plain->begin(), plain->end());
  auto e = decode_body(o.plain);
  if (!e) return std::move(e).error();
  o.entry = std::move(e).value();
  return o;
}

std::string column_mismatch(const Keys& keys, const Row& row, const AuditEntry& e) {
  const auto& r = e.record;
  const auto v = crypto::sealed_key_version(row.body).value_or(0);
  if (row.time_ms != r.time_ms) return "time_ms";
  if (row.event != r.event) return "event";
  if (row.action != action_code(r.action)) return "action";
  if (row.outcome != static_cast<int>(r.outcome)) return "outcome";
  if (row.emergency != (r.emergency ? 1 : 0)) return "emergency";
  if (row.key_version != v) return "key_version";
  if (row.patient_h != keys.id_hash(v, "patient", r.patient)) return "patient_h";
  if (row.user_h != keys.id_hash(v, "user", r.user)) return "user_h";
  return {};
}

}  // namespace audit

AuditReader::AuditReader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
AuditReader::~AuditReader() = default;

Result<std::unique_ptr<AuditReader>> AuditReader::open(const std::filesystem::path& dir,
                                                       std::shared_ptr<const crypto::KeyRing> keys) {
  if (!keys) return make_error("key_unavailable", "reading the audit trail needs the key ring");
  auto derived = audit::Keys::derive(*keys);
  if (!derived) return std::move(derived).error();
  auto db = audit::open_db(dir, true);
  if (!db) return std::move(db).error();
  auto impl = std::make_unique<Impl>();
  impl->db = std::move(db).value();
  impl->keys = std::move(derived).value();
  return std::unique_ptr<AuditReader>(new AuditReader(std::move(impl)));
}

Result<std::vector<AuditCheckpoint>> AuditReader::checkpoints() { return audit::load_checkpoints(impl_->db); }

Result<std::vector<AuditEntry>> AuditReader::query(const AuditQuery& q) {
  const auto& keys = *impl_->keys;
  const auto versions = keys.ring().versions();
  std::string sql = audit::select_rows("WHERE time_ms >= ? AND time_ms <= ?");
  auto in_list = [&](const char* col) {
    sql += std::string(" AND ") + col + " IN (";
    for (std::size_t i = 0; i < versions.size(); ++i) sql += i == 0 ? "?" : ",?";
    sql += ")";
  };
  if (q.patient) in_list("patient_h");
  if (q.user) in_list("user_h");
  if (q.emergency_only) sql += " AND emergency = 1";
  sql += " ORDER BY seq";
  auto st = impl_->db.prepare(sql);
  if (!st) return std::move(st).error();
  int i = 1;
  st->bind(1, q.from_ms).bind(2, q.to_ms);
  i = 3;
  std::vector<crypto::Bytes> hashes;  // bound as SQLITE_TRANSIENT; kept for clarity
  auto bind_ids = [&](std::string_view kind, const std::string& id) {
    for (auto v : versions) {
      hashes.push_back(keys.id_hash(v, kind, id));
      st->bind(i++, crypto::ByteView(hashes.back()));
    }
  };
  if (q.patient) bind_ids("patient", *q.patient);
  if (q.user) bind_ids("user", *q.user);
  std::vector<AuditEntry> out;
  for (;;) {
    auto more = st->step();
    if (!more) return std::move(more).error();
    if (!*more) break;
    const auto row = audit::read_row(*st);
    auto opened = audit::open_row(keys, row);
    if (!opened) {
      return make_error("record_corrupt", "audit record " + std::to_string(row.seq) +
                                              " does not open (" + opened.error().code + "); run audit verify");
    }
    const auto& r = opened->entry.record;
    // The columns matched; the sealed body must agree (fail closed).
    if ((q.patient && r.patient != *q.patient) || (q.user && r.user != *q.user) ||
        (q.emergency_only && !r.emergency)) {
      return make_error("record_corrupt", "audit record " + std::to_string(row.seq) +
                                              " disagrees with its index columns; run audit verify");
    }
    out.push_back(std::move(opened->entry));
  }
  return out;
}

Status AuditReader::for_each(std::uint64_t from_seq,
                             const std::function<Status(const AuditEntry&, std::string_view)>& fn) {
  auto st = impl_->db.prepare(audit::select_rows("WHERE seq >= ? ORDER BY seq"));
  if (!st) return std::move(st).error();
  st->bind(1, static_cast<std::int64_t>(from_seq));
  for (;;) {
    auto more = st->step();
    if (!more) return std::move(more).error();
    if (!*more) return {};
    const auto row = audit::read_row(*st);
    auto opened = audit::open_row(*impl_->keys, row);
    if (!opened) {
      return make_error("record_corrupt", "audit record " + std::to_string(row.seq) + " does not open (" +
                                              opened.error().code + "); run audit verify");
    }
    if (auto s = fn(opened->entry, crypto::to_hex(row.patient_h)); !s) return s;
  }
}

}  // namespace hiegate::daemon
