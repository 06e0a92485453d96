// Internals shared by the store's source files.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "hiegate/daemon/store.hpp"
#include "store/sqlite.hpp"
#include "store/worker.hpp"

namespace hiegate::daemon {

using crypto::ByteView;
using crypto::Bytes;
using crypto::IdHash;

namespace store {

/// Length-prefixed fields: the plaintext inside every sealed row.
Bytes pack(std::initializer_list<std::string_view> fields);
/// nullopt unless exactly `count` well-formed fields.
std::optional<std::vector<std::string>> unpack(ByteView data, std::size_t count);

/// Seals `source` as content chunks of (owner, id); returns the stream header
/// and plaintext size. Memory: two chunks.
Result<std::pair<Bytes, std::uint64_t>> write_content(sqlite::Db& db, const crypto::KeyRing& keys,
                                                      std::uint32_t version, std::string_view owner,
                                                      const IdHash& id, const crypto::Source& source);
/// Opens content chunk by chunk into `sink` (null sink allowed: verify only).
Status read_content(sqlite::Db& db, const crypto::KeyRing& keys, std::string_view owner, const IdHash& id,
                    ByteView header, const crypto::Sink* sink);
/// Where a read of one content a window at a time stands between windows.
struct ContentWindows {
  IdHash id{};
  Bytes header;  // of the first window's content: another header is another content
  std::optional<crypto::StreamOpener> opener;
  std::int64_t seq = 0;  // the next chunk
  bool ended = false;    // the final chunk was read and nothing follows it
};
/// The next window of the content (owner, id, header): whole chunks, at
/// least one, until `max_bytes` or the end (then verified: nothing stored
/// after the final chunk). Errors: content_changed when (id, header) is not
/// the content of the first window (replaced or re-encrypted meanwhile),
/// record_corrupt.
Result<std::string> read_window(sqlite::Db& db, const crypto::KeyRing& keys, std::string_view owner, const IdHash& id,
                                ByteView header, ContentWindows& w, std::size_t max_bytes);
/// Re-seals content from (owner, old_id) to (owner, new_id) under `version`.
Result<Bytes> rekey_content(sqlite::Db& db, const crypto::KeyRing& keys, std::string_view owner,
                            const IdHash& old_id, ByteView old_header, std::uint32_t version, const IdHash& new_id);
Status delete_content(sqlite::Db& db, std::string_view owner, ByteView id);
/// Stores one sealed content chunk of (owner, id).
Status insert_chunk(sqlite::Db& db, std::string_view owner, const IdHash& id, std::int64_t seq, ByteView data);

/// Schema: applies migrations up to kStoreSchemaVersion; refuses newer.
Status migrate(sqlite::Db& db);
Result<int> schema_version(sqlite::Db& db);

/// meta table helpers.
Result<std::optional<Bytes>> meta_get(sqlite::Db& db, std::string_view name);
Status meta_put(sqlite::Db& db, std::string_view name, ByteView value);
Status meta_erase(sqlite::Db& db, std::string_view name);
Result<std::int64_t> meta_int(sqlite::Db& db, std::string_view name, std::int64_t fallback);
Status meta_put_int(sqlite::Db& db, std::string_view name, std::int64_t value);

/// Checks the ring against the store's key check values and versions in use
/// (read-only); returns the store's current key version (0 for a new store).
Result<std::uint32_t> verify_keys(sqlite::Db& db, const crypto::KeyRing& keys);

/// Shape of a table holding sealed rows.
struct SealedTable {
  const char* name;
  const char* key_col;   // the keyed hash bound into each row's seal
  const char* hash_col;  // second lookup hash (patient or group), or nullptr
  bool content;          // has chunked content
  std::size_t fields;    // packed fields in `sealed`
};
/// Every table holding sealed rows, in rekey order.
inline constexpr SealedTable kSealedTables[] = {
    {"documents", "id_hash", "patient_hash", true, 5}, {"cache", "id_hash", nullptr, true, 4},
    {"consents", "key_hash", "group_hash", false, 3},  {"users", "key_hash", "group_hash", false, 3},
    {"exports", "key_hash", "group_hash", false, 3},   {"directives", "key_hash", "group_hash", false, 3},
    {"audit", "key_hash", "group_hash", false, 3},     {"emergencies", "key_hash", "group_hash", false, 3}};
/// Lookup hashes of a row, recomputed from its opened fields under `version`:
/// {key hash, second hash or nullopt}.
std::pair<IdHash, std::optional<IdHash>> row_hashes(const SealedTable& t, const crypto::KeyRing& keys,
                                                    std::uint32_t version, const std::vector<std::string>& f);
/// Owner tag of content chunks in quarantine.
std::string quarantine_owner(std::string_view table);
IdHash to_hash(ByteView b);
/// Lookup identifier of a cached document.
std::string cache_id(std::string_view facility, std::string_view document_id);

}  // namespace store

struct Store::Impl {
  StoreOptions opt;
  std::shared_ptr<const crypto::KeyRing> keys;  // guarded by mu; replaced only on the writer thread (adopt_keys)
  std::unique_ptr<store::Writer> writer;       // destroyed after the readers
  std::unique_ptr<store::ReaderPool> readers;  // reader jobs may post writes

  /// Users and consents, opened, kept in memory: every clinical request
  /// reads one of them. Filled by reads; a write of a key drops it before
  /// its caller is answered, and a read that overlapped a write is not kept
  /// (generation check), so a withdrawal or suspension is seen at once.
  struct RecordMemo {
    static constexpr std::size_t kMaxEntries = 50'000;  // cleared when full
    std::mutex mu;
    std::uint64_t generation = 0;
    std::map<std::pair<RecordTable, std::string>, std::optional<StoredRecord>> entries;
  } memo;
  [[nodiscard]] static bool memoized(RecordTable t) { return t == RecordTable::users || t == RecordTable::consents; }
  /// Forgets `key` (after a write of it committed or failed).
  void forget(RecordTable t, const std::string& key) {
    std::lock_guard lock(memo.mu);
    ++memo.generation;
    memo.entries.erase({t, key});
  }

  /// When cached documents were last read, not yet written to their rows:
  /// a read must not cost a write transaction (nor reset the readers' page
  /// caches, which every WAL commit does). Applied by the next cache write,
  /// before it evicts anything, so eviction sees every read; lost at a
  /// crash, which costs only LRU order.
  struct PendingTouches {
    std::mutex mu;
    std::map<IdHash, std::int64_t> last_used;
  } touches;

  mutable std::mutex mu;
  std::uint32_t store_version = 0;  // version of records not yet rekeyed
  RekeyStatus rekey;                // guarded by mu
  bool rekey_background = false;    // guarded by mu: a chain of background batches is queued

  /// The current ring. Jobs take it once; a ring adopted meanwhile only adds
  /// versions, so what they sealed or hashed stays readable.
  [[nodiscard]] std::shared_ptr<const crypto::KeyRing> ring() const {
    std::lock_guard lock(mu);
    return keys;
  }
  [[nodiscard]] std::uint32_t write_version() const { return ring()->active_version(); }
  /// Versions a lookup hash may have been computed with, newest first.
  [[nodiscard]] std::vector<std::uint32_t> lookup_versions() const;
  [[nodiscard]] IdHash hash(std::uint32_t version, std::string_view kind, std::string_view id) const {
    return crypto::hash_identifier(*ring(), version, kind, id);
  }

  /// Reports a record that failed to open and queues its quarantine. The
  /// row moves only if its sealed blob is still `sealed` (a row replaced in
  /// the meantime is left alone).
  void report_corrupt(const std::string& table, const IdHash& key, ByteView sealed, const std::string& code);
  void schedule_rekey(Callback<RekeyStatus> done);

  /// Queues `fn(Db&) -> Result<T>` on the writer; its changes commit (or roll
  /// back on error) before `done` sees the result.
  template <class T, class Fn>
  void write(bool durable, Callback<T> done, Fn fn) {
    auto res = std::make_shared<std::optional<Result<T>>>();
    writer->post(store::WriteJob{
        durable,
        [res, fn = std::move(fn)](sqlite::Db& db) mutable -> Status {
          res->emplace(fn(db));
          if (!res->value()) return Error(res->value().error());
          return {};
        },
        [res, done = std::move(done)](Status s) {
          if (!s || !res->has_value()) done(s ? make_error("store_io", "write job did not run") : std::move(s).error());
          else done(std::move(**res));
        }});
  }
  /// Runs `fn(Db&) -> Result<T>` on a reader thread inside one read
  /// transaction, so that multi-statement reads (content chunks) see one
  /// consistent snapshot. `done` runs before that transaction ends, and the
  /// reads it chains (ReaderPool::Chain) join it: a request that reads a
  /// document, then its patient's consent, then its content pays for one
  /// BEGIN/COMMIT and sees one state of the store.
  template <class T, class Fn>
  void read(Callback<T> done, Fn fn) {
    readers->post([done = std::move(done), fn = std::move(fn)](sqlite::Db& db) mutable {
      struct Snapshot {
        sqlite::Db& db;
        bool own;  // else it joined the transaction of the read that chained it
        explicit Snapshot(sqlite::Db& d) : db(d), own(sqlite3_get_autocommit(d.get()) != 0) {}
        Snapshot(const Snapshot&) = delete;
        Snapshot& operator=(const Snapshot&) = delete;
        ~Snapshot() {
          if (!own || sqlite3_get_autocommit(db.get()) != 0) return;
          if (auto commit = db.cached("COMMIT"); commit) (void)(*commit)->run();
        }
      } snapshot{db};
      if (snapshot.own) {
        // Prepared once per connection: BEGIN and COMMIT are not parsed
        // again for every read.
        auto begin = db.cached("BEGIN");
        if (!begin) return done(std::move(begin).error());
        if (auto s = (*begin)->run(); !s) return done(std::move(s).error());
      }
      auto r = [&] {
        const store::ReaderPool::Chain statements_running(false);
        return fn(db);
      }();
      const store::ReaderPool::Chain chained(true);
      done(std::move(r));
    });
  }
  /// Opens a sealed row; integrity failures are reported and quarantined.
  Result<std::vector<std::string>> open_row(const std::string& table, const IdHash& key, ByteView sealed,
                                            std::size_t fields);
  Status rekey_batch(sqlite::Db& db, RekeyStatus& out);
};

namespace store {
/// Deletes a document's row and content under every lookup version; false
/// when there was none.
Result<bool> delete_document(Store::Impl& s, sqlite::Db& db, const std::string& document_id);
/// Inserts a document's row (sealed under `v`, keyed `id`) for the content
/// with stream header `header` and plaintext size `size`.
Status insert_document(Store::Impl& s, sqlite::Db& db, std::uint32_t v, const IdHash& id, const DocumentRecord& doc,
                       ByteView header, std::uint64_t size);
/// Owner of the chunks of uploads not yet committed (Store::begin_publish).
inline constexpr std::string_view kStagedOwner = "staged";
}  // namespace store

inline bool is_integrity_error(const Error& e) {
  return e.code == "record_corrupt" || e.code == "record_malformed";
}

}  // namespace hiegate::daemon
