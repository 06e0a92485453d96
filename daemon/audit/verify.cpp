// Verification of the whole trail (docs/audit.md, "Verification").
//
// Rows are walked in storage order; each sealed body names its own sequence
// number, which is what classifies a break: a body that does not open or
// disagrees with its columns is a changed record; a number below the
// expected one is an inserted copy (or the far end of a reordering already
// reported); a number above it is a reordering when the missing numbers turn
// up shortly after, else a removal. After a break the walk resynchronises on
// the stored hash so later breaks are reported too.
#include <algorithm>
#include <map>
#include <set>

#include "audit/lookup.hpp"
#include "audit/reader.hpp"
#include "hiegate/crypto/sealed.hpp"

namespace hiegate::daemon {

namespace {

using audit::Hash;
constexpr std::size_t kMaxFindings = 100;
constexpr int kLookahead = 4096;

std::string range(std::uint64_t lo, std::uint64_t hi) {
  return lo == hi ? "record " + std::to_string(lo) : "records " + std::to_string(lo) + ".." + std::to_string(hi);
}

struct Walk {
  const audit::Keys& keys;
  sqlite::Db& db;
  AuditVerifyReport rep;
  std::uint64_t anchor = 0;
  std::set<std::uint64_t> wanted;       // checkpoint sequence numbers (local and external)
  std::map<std::uint64_t, Hash> heads;  // chain head after each wanted record walked
  std::uint64_t max_seen = 0;
  std::vector<audit::Segment> segments;  // the lookup index
  std::uint64_t indexed = 0;
  std::uint64_t rows_of = 0;  // the segment whose rows are loaded
  audit::SegmentRows rows;

  void add(std::string kind, std::uint64_t seq, std::string msg) {
    if (rep.findings.size() < kMaxFindings) rep.findings.push_back({std::move(kind), seq, std::move(msg)});
  }

  // Sequence numbers in [lo, hi) found in rows after `position`.
  Result<std::set<std::uint64_t>> later(std::uint64_t position, std::uint64_t lo, std::uint64_t hi) {
    auto st = db.prepare(audit::select_rows("WHERE seq > ? ORDER BY seq LIMIT " + std::to_string(kLookahead)));
    if (!st) return std::move(st).error();
    st->bind(1, static_cast<std::int64_t>(position));
    std::set<std::uint64_t> found;
    for (;;) {
      auto more = st->step();
      if (!more) return std::move(more).error();
      if (!*more) return found;
      auto o = audit::open_row(keys, audit::read_row(*st));
      if (o && o->entry.seq >= lo && o->entry.seq < hi) found.insert(o->entry.seq);
    }
  }

  // A record whose segment is written must be listed under its patient and
  // user: otherwise a report would not show it.
  Status indexed_check(std::uint64_t i, const audit::Row& row) {
    if (i > indexed || i <= anchor) return {};
    const auto seg = std::lower_bound(segments.begin(), segments.end(), i,
                                      [](const audit::Segment& s, std::uint64_t v) { return s.seg < v; });
    if (seg == segments.end() || seg->first_seq > i) {
      add("index_changed", i, "record " + std::to_string(i) + " is in no lookup segment: reports would not show it");
      return {};
    }
    if (rows_of != seg->seg) {
      auto loaded = audit::segment_rows(db, seg->seg);
      if (!loaded) return std::move(loaded).error();
      rows = std::move(loaded).value();
      rows_of = seg->seg;
    }
    for (const auto& [kind, key, name] : {std::tuple{audit::KeyKind::patient, &row.patient_h, "patient"},
                                          std::tuple{audit::KeyKind::user, &row.user_h, "user"}}) {
      if (key->empty()) continue;
      const auto it = rows.find({kind, *key});
      if (it == rows.end() || !std::binary_search(it->second.begin(), it->second.end(), i)) {
        add("index_changed", i, "record " + std::to_string(i) + " is missing from the " + name +
                                    " lookup index: a report by " + name + " would not show it");
      }
    }
    return {};
  }

  Status records(Hash prev) {
    auto st = db.prepare(audit::select_rows("ORDER BY seq"));
    if (!st) return std::move(st).error();
    std::uint64_t expected = anchor + 1;
    std::set<std::uint64_t> moved;
    bool anchor_explained = anchor == 0;
    for (;;) {
      auto more = st->step();
      if (!more) return std::move(more).error();
      if (!*more) break;
      const auto row = audit::read_row(*st);
      ++rep.records;
      auto opened = audit::open_row(keys, row);
      if (!opened) {
        add("record_changed", expected,
            "record at position " + std::to_string(row.seq) + " (expected record " + std::to_string(expected) +
                "): its sealed body does not authenticate (" + opened.error().code + "): edited or forged");
        prev = audit::to_hash(row.hash);
        max_seen = std::max(max_seen, expected);
        ++expected;
        continue;
      }
      const auto& e = opened->entry;
      const auto i = e.seq;
      if (rep.first_seq == 0) rep.first_seq = i;
      if (auto col = audit::column_mismatch(keys, row, e); !col.empty()) {
        add("record_changed", i, "record " + std::to_string(i) + ": column " + col + " was changed");
      } else if (auto s = indexed_check(i, row); !s) {
        return s;
      }
      if (e.record.event == "audit_pruned" && e.record.detail.starts_with("anchor=" + std::to_string(anchor) + " ")) {
        anchor_explained = true;
      }
      if (i == expected) {
        const Hash h = audit::chain_next(keys.chain_key(row.key_version), prev,
                                         {reinterpret_cast<const std::uint8_t*>(opened->plain.data()),
                                          opened->plain.size()});
        if (!std::equal(h.begin(), h.end(), row.hash.begin(), row.hash.end())) {
          add("record_changed", i, "record " + std::to_string(i) + ": its stored chain hash was changed");
        }
        prev = h;
        ++expected;
      } else if (i < expected) {
        if (moved.erase(i) == 0) {
          add("record_inserted", i,
              "a copy of record " + std::to_string(i) + " was inserted at position " + std::to_string(row.seq));
        }
        continue;
      } else {
        auto found = later(row.seq, expected, i);
        if (!found) return std::move(found).error();
        if (!found->empty()) {
          add("records_reordered", expected,
              "record " + std::to_string(*found->begin()) + " was moved after record " + std::to_string(i) +
                  " (position " + std::to_string(row.seq) + ")");
          moved.insert(found->begin(), found->end());
        } else {
          add("record_removed", expected, range(expected, i - 1) + " removed (the chain jumps to record " +
                                              std::to_string(i) + ")");
        }
        prev = audit::to_hash(row.hash);  // resynchronise
        expected = i + 1;
      }
      if (wanted.count(i) != 0) heads[i] = prev;
      max_seen = std::max(max_seen, i);
    }
    if (!anchor_explained) {
      add("anchor_unexplained", anchor,
          "the trail starts after checkpoint " + std::to_string(anchor) + " but no pruning record says so");
    }
    return {};
  }

  // Checks one checkpoint against the walk; `what` prefixes messages.
  void checkpoint(const AuditCheckpoint& c, const std::string& what, bool report_tail) {
    const auto name = what + " " + std::to_string(c.seq);
    if (!audit::checkpoint_valid(c, &keys)) {
      add("checkpoint_invalid", c.seq, name + ": signature does not verify (forged or altered)");
      return;
    }
    const auto it = heads.find(c.seq);
    if (it != heads.end()) {
      if (!std::equal(it->second.begin(), it->second.end(), c.head.begin(), c.head.end())) {
        add("checkpoint_mismatch", c.seq, name + " does not match the chain: records up to it were rewritten");
      }
    } else if (c.seq > max_seen && report_tail) {
      add("tail_truncated", max_seen + 1,
          "truncated tail: " + range(max_seen + 1, c.seq) + " are missing after record " + std::to_string(max_seen) +
              " (" + name + " vouches for them)");
    } else if (c.seq > anchor && c.seq <= max_seen) {
      add("checkpoint_mismatch", c.seq, name + ": record " + std::to_string(c.seq) + " is missing from the chain");
    }
  }
};

Result<Walk> walk_trail(const audit::Keys& keys, sqlite::Db& db, const std::vector<AuditCheckpoint>& external) {
  Walk w{keys, db, {}, 0, {}, {}, 0, {}, 0, 0, {}};
  for (const auto& c : external) w.wanted.insert(c.seq);
  auto anchor = audit::load_anchor(db);
  if (!anchor) return std::move(anchor).error();
  w.anchor = *anchor;
  auto indexed = audit::load_indexed_seq(db);
  if (!indexed) return std::move(indexed).error();
  w.indexed = *indexed;
  auto segments = audit::load_segments(db);
  if (!segments) return std::move(segments).error();
  w.segments = std::move(segments).value();
  auto cps = audit::load_checkpoints(db);
  if (!cps) return std::move(cps).error();
  for (const auto& c : *cps) w.wanted.insert(c.seq);
  Hash prev{};
  if (w.anchor > 0) {
    const auto it = std::find_if(cps->begin(), cps->end(), [&](const auto& c) { return c.seq == w.anchor; });
    if (it == cps->end()) {
      w.add("checkpoint_missing", w.anchor, "the pruning anchor checkpoint " + std::to_string(w.anchor) + " is missing");
    } else {
      prev = audit::to_hash(it->head);
      w.heads[w.anchor] = prev;
    }
    w.max_seen = w.anchor;
  }
  if (auto s = w.records(prev); !s) return std::move(s).error();
  w.rep.checkpoints = cps->size();
  w.rep.last_seq = w.max_seen;
  // Only the newest checkpoint past the end reports the truncation.
  for (std::size_t i = 0; i < cps->size(); ++i) {
    w.checkpoint((*cps)[i], "checkpoint", i + 1 == cps->size());
  }
  return w;
}

void sort_findings(AuditVerifyReport& r) {
  std::stable_sort(r.findings.begin(), r.findings.end(), [](const auto& a, const auto& b) { return a.seq < b.seq; });
}

}  // namespace

Result<AuditVerifyReport> AuditReader::verify() {
  auto w = walk_trail(*impl_->keys, impl_->db, {});
  if (!w) return std::move(w).error();
  sort_findings(w->rep);
  return std::move(w->rep);
}

Result<AuditVerifyReport> AuditReader::verify_against_external(const std::vector<AuditCheckpoint>& external) {
  auto w = walk_trail(*impl_->keys, impl_->db, external);
  if (!w) return std::move(w).error();
  std::uint64_t newest = 0;
  for (const auto& c : external) newest = std::max(newest, c.seq);
  for (const auto& c : external) {
    if (c.seq <= w->anchor && w->heads.count(c.seq) == 0) continue;  // pruned since
    w->checkpoint(c, "external checkpoint", c.seq == newest);
  }
  sort_findings(w->rep);
  return std::move(w->rep);
}

}  // namespace hiegate::daemon
