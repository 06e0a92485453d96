// The audit trail's lookup index (lookup.hpp).
#include "audit/lookup.hpp"

#include <algorithm>

namespace hiegate::daemon::audit {

namespace {

crypto::Bytes pack(const std::vector<std::uint64_t>& seqs) {
  crypto::Bytes out;
  out.reserve(seqs.size() * 8);
  for (auto s : seqs) {
    for (int i = 7; i >= 0; --i) out.push_back(static_cast<std::uint8_t>(s >> (8 * i)));
  }
  return out;
}

std::vector<std::uint64_t> unpack(crypto::ByteView b) {
  std::vector<std::uint64_t> out;
  for (std::size_t i = 0; i + 8 <= b.size(); i += 8) {
    std::uint64_t v = 0;
    for (std::size_t k = 0; k < 8; ++k) v = (v << 8) | b[i + k];
    out.push_back(v);
  }
  return out;
}

Result<bool> has_table(sqlite::Db& db, const char* name) {
  auto st = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?");
  if (!st) return std::move(st).error();
  st->bind(1, std::string_view(name));
  return st->step();
}

}  // namespace

void PendingLookup::reset(std::uint64_t indexed_seq) {
  indexed_ = indexed_seq;
  records_.clear();
  keys_.clear();
}

void PendingLookup::add(std::uint64_t seq, std::int64_t time_ms, crypto::ByteView patient_h,
                        crypto::ByteView user_h) {
  records_.emplace_back(seq, time_ms);
  // Keys are the 32-byte keyed hashes (or empty: no patient, no user).
  if (patient_h.size() == 32) keys_[{KeyKind::patient, to_hash(patient_h)}].push_back(seq);
  if (user_h.size() == 32) keys_[{KeyKind::user, to_hash(user_h)}].push_back(seq);
}

void PendingLookup::truncate(std::uint64_t last_kept) {
  while (!records_.empty() && records_.back().first > last_kept) records_.pop_back();
  for (auto it = keys_.begin(); it != keys_.end();) {
    auto& seqs = it->second;
    while (!seqs.empty() && seqs.back() > last_kept) seqs.pop_back();
    it = seqs.empty() ? keys_.erase(it) : std::next(it);
  }
}

Status PendingLookup::write(sqlite::Db& db) const {
  if (records_.empty()) return {};
  const std::uint64_t last = records_.back().first;
  const auto seg = static_cast<std::int64_t>(last);
  // Sorted by (kind, key) under one new, highest seg: appended in order.
  auto ins = db.cached("INSERT INTO audit_lookup(seg, kind, key, seqs) VALUES (?,?,?,?)");
  if (!ins) return std::move(ins).error();
  for (const auto& [k, seqs] : keys_) {
    (*ins)->reset();
    (*ins)->bind(1, seg).bind(2, static_cast<std::int64_t>(k.first));
    (*ins)->bind(3, crypto::ByteView(k.second.data(), k.second.size()));
    (*ins)->bind(4, crypto::ByteView(pack(seqs)));
    if (auto s = (*ins)->run(); !s) return s;
  }
  std::int64_t lo = records_.front().second, hi = lo;
  for (const auto& r : records_) lo = std::min(lo, r.second), hi = std::max(hi, r.second);
  auto segs = db.cached("INSERT INTO audit_segments(seg, first_seq, min_ms, max_ms) VALUES (?,?,?,?)");
  if (!segs) return std::move(segs).error();
  (*segs)->bind(1, seg).bind(2, static_cast<std::int64_t>(indexed_ + 1)).bind(3, lo).bind(4, hi);
  if (auto s = (*segs)->run(); !s) return s;
  return db.exec("UPDATE audit_meta SET v = '" + std::to_string(last) + "' WHERE k = 'indexed_seq'");
}

Result<std::uint64_t> load_indexed_seq(sqlite::Db& db) {
  auto v = db.scalar("SELECT CAST(v AS INTEGER) FROM audit_meta WHERE k = 'indexed_seq'");
  if (!v) return std::move(v).error();
  if (*v < 0) return make_error("audit_format", "negative indexed_seq");
  return static_cast<std::uint64_t>(*v);
}

Result<std::vector<Segment>> load_segments(sqlite::Db& db) {
  std::vector<Segment> out;
  auto exists = has_table(db, "audit_segments");
  if (!exists) return std::move(exists).error();
  if (!*exists) return out;
  auto st = db.prepare("SELECT seg, first_seq, min_ms, max_ms FROM audit_segments ORDER BY seg");
  if (!st) return std::move(st).error();
  for (;;) {
    auto row = st->step();
    if (!row) return std::move(row).error();
    if (!*row) return out;
    out.push_back({static_cast<std::uint64_t>(st->int64(0)), static_cast<std::uint64_t>(st->int64(1)),
                   st->int64(2), st->int64(3)});
  }
}

Result<std::vector<std::uint64_t>> lookup(sqlite::Db& db, std::uint64_t seg, KeyKind kind, crypto::ByteView key) {
  auto st = db.cached("SELECT seqs FROM audit_lookup WHERE seg = ? AND kind = ? AND key = ?");
  if (!st) return std::move(st).error();
  (*st)->bind(1, static_cast<std::int64_t>(seg)).bind(2, static_cast<std::int64_t>(kind)).bind(3, key);
  auto row = (*st)->step();
  if (!row) return std::move(row).error();
  std::vector<std::uint64_t> out;
  if (*row) out = unpack((*st)->blob(0));
  (*st)->reset();  // a statement left on a row pins the read snapshot
  return out;
}

Result<SegmentRows> segment_rows(sqlite::Db& db, std::uint64_t seg) {
  auto st = db.prepare("SELECT kind, key, seqs FROM audit_lookup WHERE seg = ?");
  if (!st) return std::move(st).error();
  st->bind(1, static_cast<std::int64_t>(seg));
  SegmentRows out;
  for (;;) {
    auto row = st->step();
    if (!row) return std::move(row).error();
    if (!*row) return out;
    out[{static_cast<KeyKind>(st->int64(0)), st->bytes(1)}] = unpack(st->blob(2));
  }
}

Status catch_up(sqlite::Db& db, PendingLookup& pending) {
  auto indexed = load_indexed_seq(db);
  if (!indexed) return std::move(indexed).error();
  pending.reset(*indexed);
  const std::string sql = "SELECT seq, time_ms, patient_h, user_h FROM audit_records WHERE seq > ? ORDER BY seq LIMIT " +
                          std::to_string(kSegmentMax);
  for (;;) {
    std::size_t n = 0;
    {
      auto st = db.prepare(sql);
      if (!st) return std::move(st).error();
      st->bind(1, static_cast<std::int64_t>(pending.indexed_seq()));
      for (;; ++n) {
        auto row = st->step();
        if (!row) return std::move(row).error();
        if (!*row) break;
        pending.add(static_cast<std::uint64_t>(st->int64(0)), st->int64(1), st->blob(2), st->blob(3));
      }
    }  // the statement is finalised before the segment is written
    if (n < kSegmentMax) return {};
    const auto last = pending.last_seq();
    if (auto s = sqlite::transaction(db, [&] { return pending.write(db); }); !s) return s;
    pending.reset(last);
  }
}

Status drop_segments(sqlite::Db& db, std::uint64_t seq) {
  const auto s = std::to_string(seq);
  if (auto st = db.exec("DELETE FROM audit_lookup WHERE seg <= " + s); !st) return st;
  return db.exec("DELETE FROM audit_segments WHERE seg <= " + s);
}

}  // namespace hiegate::daemon::audit
