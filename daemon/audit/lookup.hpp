// The audit trail's lookup index: which records name a patient or a user.
// Private to the daemon library.
//
// Indexing every record as it is appended (a B-tree keyed by a random hash)
// dirties one page per record per index, in the WAL and again at each
// checkpoint: that was most of the cost of a durable record. Instead, the
// writer keeps the keys of the records committed since the last segment in
// memory and writes them as one segment: a row per (kind, key) listing that
// segment's records, keyed by (seg, kind, key) with `seg` the segment's last
// record, so a segment is an append at the end of the table. Segments close
// with every checkpoint and at most every kSegmentMax records.
//
// The records after the last segment (the tail, at most kSegmentMax) are
// found by scanning their plaintext key columns. After a crash the tail is
// rebuilt from those columns. Verification checks that every record whose
// segment is written is listed under its keys, so an index edited to hide an
// access from a report is found.
#pragma once

#include <map>
#include <utility>
#include <vector>

#include "audit/chain.hpp"

namespace hiegate::daemon::audit {

inline constexpr std::size_t kSegmentMax = 4096;
enum class KeyKind : std::int64_t { patient = 1, user = 2 };

/// One written segment: records first_seq..seg.
struct Segment {
  std::uint64_t seg = 0, first_seq = 0;
  std::int64_t min_ms = 0, max_ms = 0;
};

/// Records committed but not yet in a segment. Writer thread only.
class PendingLookup {
public:
  /// `indexed_seq`: the last record already in a segment.
  void reset(std::uint64_t indexed_seq);
  void add(std::uint64_t seq, std::int64_t time_ms, crypto::ByteView patient_h, crypto::ByteView user_h);
  /// Forgets the records after `last_kept` (a transaction that failed).
  void truncate(std::uint64_t last_kept);
  [[nodiscard]] std::size_t size() const { return records_.size(); }
  /// The last record added (indexed_seq() when none).
  [[nodiscard]] std::uint64_t last_seq() const { return records_.empty() ? indexed_ : records_.back().first; }
  [[nodiscard]] std::uint64_t indexed_seq() const { return indexed_; }
  /// Writes the pending records as one segment and moves indexed_seq in the
  /// database (inside the caller's transaction). The in-memory state is
  /// unchanged: reset(last) once the transaction has committed.
  Status write(sqlite::Db& db) const;

private:
  std::uint64_t indexed_ = 0;
  std::vector<std::pair<std::uint64_t, std::int64_t>> records_;  // (seq, time), ascending
  // Keyed hashes are 32 bytes: held inline, no allocation per record.
  std::map<std::pair<KeyKind, Hash>, std::vector<std::uint64_t>> keys_;
};

/// The last record in a segment (0: none; a trail without the index).
Result<std::uint64_t> load_indexed_seq(sqlite::Db& db);
/// Every segment, oldest first (empty for a trail without the index).
Result<std::vector<Segment>> load_segments(sqlite::Db& db);
/// The records of `seg` listed under (kind, key), ascending.
Result<std::vector<std::uint64_t>> lookup(sqlite::Db& db, std::uint64_t seg, KeyKind kind, crypto::ByteView key);
/// Every (kind, key) row of `seg` with its records.
using SegmentRows = std::map<std::pair<KeyKind, crypto::Bytes>, std::vector<std::uint64_t>>;
Result<SegmentRows> segment_rows(sqlite::Db& db, std::uint64_t seg);
/// Writer at open: indexes whole segments of unindexed records (a trail from
/// before the index, or a long tail) and loads the rest into `pending`.
Status catch_up(sqlite::Db& db, PendingLookup& pending);
/// Drops the segments that end at or before `seq` (pruning).
Status drop_segments(sqlite::Db& db, std::uint64_t seq);

}  // namespace hiegate::daemon::audit
