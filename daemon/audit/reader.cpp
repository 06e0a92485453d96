// AuditReader: opening, queries and ordered iteration.
#include "audit/reader.hpp"

#include <algorithm>

#include "audit/lookup.hpp"

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

namespace {

Error corrupt(std::uint64_t seq, const std::string& why) {
  return make_error("record_corrupt", "audit record " + std::to_string(seq) + " " + why + "; run audit verify");
}

// Matching records, oldest first, inside the caller's read transaction.
// Records in written segments are found through the lookup index; the tail
// after them by their plaintext key columns.
Result<std::vector<AuditEntry>> run_query(sqlite::Db& db, const audit::Keys& keys, const AuditQuery& q) {
  const auto versions = keys.ring().versions();
  auto hashes = [&](std::string_view kind, const std::string& id) {
    std::vector<crypto::Bytes> out;
    for (auto v : versions) out.push_back(keys.id_hash(v, kind, id));
    return out;
  };
  const auto patient_hs = q.patient ? hashes("patient", *q.patient) : std::vector<crypto::Bytes>{};
  const auto user_hs = q.user ? hashes("user", *q.user) : std::vector<crypto::Bytes>{};
  const bool by_key = q.patient || q.user;
  std::vector<AuditEntry> out;

  // `exact`: the row was selected by these fields, so a body that disagrees
  // is corrupt (fail closed), not merely another record.
  auto take = [&](const audit::Row& row, bool exact_patient, bool exact_user) -> Status {
    auto opened = audit::open_row(keys, row);
    if (!opened) return corrupt(row.seq, "does not open (" + opened.error().code + ")");
    const auto& r = opened->entry.record;
    const bool patient_ok = !q.patient || r.patient == *q.patient;
    const bool user_ok = !q.user || r.user == *q.user;
    if ((exact_patient && !patient_ok) || (exact_user && !user_ok) || (q.emergency_only && row.emergency == 1 && !r.emergency)) {
      return corrupt(row.seq, "disagrees with its index");
    }
    if (patient_ok && user_ok && (!q.emergency_only || r.emergency) && row.time_ms >= q.from_ms &&
        row.time_ms <= q.to_ms) {
      out.push_back(std::move(opened->entry));
    }
    return {};
  };

  std::uint64_t tail_from = 0;
  if (by_key) {
    auto indexed = audit::load_indexed_seq(db);
    auto anchor = audit::load_anchor(db);
    auto segments = audit::load_segments(db);
    if (!indexed || !anchor || !segments) {
      return !indexed ? indexed.error() : !anchor ? anchor.error() : segments.error();
    }
    tail_from = *indexed;
    const auto kind = q.patient ? audit::KeyKind::patient : audit::KeyKind::user;
    const auto& keys_hs = q.patient ? patient_hs : user_hs;
    std::vector<std::uint64_t> seqs;
    for (const auto& seg : *segments) {
      if (seg.max_ms < q.from_ms || seg.min_ms > q.to_ms) continue;
      for (const auto& h : keys_hs) {
        auto found = audit::lookup(db, seg.seg, kind, h);
        if (!found) return std::move(found).error();
        seqs.insert(seqs.end(), found->begin(), found->end());
      }
    }
    std::sort(seqs.begin(), seqs.end());
    seqs.erase(std::unique(seqs.begin(), seqs.end()), seqs.end());
    auto st = db.prepare(audit::select_rows("WHERE seq = ?"));
    if (!st) return std::move(st).error();
    for (const auto seq : seqs) {
      if (seq <= *anchor) continue;  // pruned with its segment's older part
      st->reset();
      st->bind(1, static_cast<std::int64_t>(seq));
      auto row = st->step();
      if (!row) return std::move(row).error();
      if (!*row) return corrupt(seq, "is listed in the lookup index but missing");
      if (auto s = take(audit::read_row(*st), q.patient.has_value(), !q.patient && q.user); !s) {
        return std::move(s).error();
      }
    }
  }

  std::string sql = audit::select_rows("WHERE seq > ? AND time_ms >= ? AND time_ms <= ?");
  auto in_list = [&](const char* col, std::size_t n) {
    sql += std::string(" AND ") + col + " IN (";
    for (std::size_t i = 0; i < n; ++i) sql += i == 0 ? "?" : ",?";
    sql += ")";
  };
  if (q.patient) in_list("patient_h", patient_hs.size());
  if (q.user) in_list("user_h", user_hs.size());
  if (q.emergency_only) sql += " AND emergency = 1";
  sql += " ORDER BY seq";
  auto st = db.prepare(sql);
  if (!st) return std::move(st).error();
  st->bind(1, static_cast<std::int64_t>(tail_from)).bind(2, q.from_ms).bind(3, q.to_ms);
  int i = 4;
  for (const auto& h : patient_hs) st->bind(i++, crypto::ByteView(h));
  for (const auto& h : user_hs) st->bind(i++, crypto::ByteView(h));
  for (;;) {
    auto more = st->step();
    if (!more) return std::move(more).error();
    if (!*more) break;
    if (auto s = take(audit::read_row(*st), q.patient.has_value(), q.user.has_value()); !s) {
      return std::move(s).error();
    }
  }
  return out;
}

}  // namespace

Result<std::vector<AuditEntry>> AuditReader::query(const AuditQuery& q) {
  // One read transaction: the index, its segments and the tail are read
  // from the same snapshot while the daemon writes.
  auto& db = impl_->db;
  if (auto s = db.exec("BEGIN"); !s) return std::move(s).error();
  auto out = run_query(db, *impl_->keys, q);
  (void)db.exec("COMMIT");
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
