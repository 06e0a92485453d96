// The encrypted state store (SQLite in WAL mode under the state directory).
//
// Nothing about a patient reaches the disk in clear: identifiers used for
// lookup are stored as keyed BLAKE2b hashes, everything else is sealed (see
// crypto/sealed.hpp) with the record's table and key hash as associated data.
//
// Threading: one writer thread owns the only writing connection and commits
// queued writes in batches; a small pool of reader threads, each with its own
// read-only connection, serves reads. Every operation returns at once and
// reports through its callback, which runs on a store thread: it must be
// short and must not call back into the store synchronously; a daemon posts
// the result to its io_context. Callbacks run exactly once, also when the
// store is destroyed with operations queued (they then fail with
// store_closed). A read called on a reader thread (a read chained in another
// read's callback) runs there at once, so its callback may run before the
// call returns, as a memoized user or consent always may. Writes to
// directives, audit and exports are committed with synchronous=FULL; other
// writes are batched with synchronous=NORMAL.
//
// Integrity: a record that fails to open is reported through on_integrity
// (table and key hash only), moved to the quarantine table, and the call
// fails with record_corrupt; everything else keeps being served.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "hiegate/common/result.hpp"
#include "hiegate/crypto/keys.hpp"
#include "hiegate/crypto/sealed.hpp"

namespace hiegate::daemon {

template <class T>
using Callback = std::function<void(Result<T>)>;

/// Schema version this build writes; a newer store is refused.
inline constexpr int kStoreSchemaVersion = 3;
inline constexpr const char* kStoreFileName = "hiegate.db";

struct IntegrityEvent {
  std::string table;
  std::string key_hash_hex;  // hash of the row's identifier, never the identifier
  std::string code;          // record_corrupt, record_malformed
};

struct StoreOptions {
  std::filesystem::path dir;  // created 0700 if missing
  std::uint64_t cache_max_bytes = 512ull << 20;
  std::int64_t cache_ttl_seconds = 7 * 24 * 3600;
  unsigned reader_threads = 2;
  std::size_t max_batch = 256;       // write jobs per commit
  std::size_t rekey_batch_rows = 64;  // records re-encrypted per background step
  /// 0 = unlimited. Caps the database at this many pages (4 KiB each).
  std::int64_t max_page_count = 0;
  /// Called on a store thread; must be quick and thread-safe.
  std::function<void(const IntegrityEvent&)> on_integrity;
  /// Called on the opening thread about every `long_work_interval` while
  /// open() upgrades the schema (a migration may copy every content once):
  /// e.g. to extend the service manager's start timeout. Must be quick.
  std::function<void()> on_long_work;
  std::chrono::milliseconds long_work_interval{5000};
};

/// A document this facility publishes. Identifiers are returned in clear
/// only after opening the sealed metadata.
struct DocumentRecord {
  std::string patient_id;
  std::string document_id;
  std::string metadata_json;
  std::int64_t published_at = 0;  // unix seconds, supplied by the caller
  std::uint64_t content_size = 0;  // filled by the store
};

/// A document fetched from another facility and cached.
struct CachedDocument {
  std::string facility;
  std::string document_id;
  std::string metadata_json;
  std::int64_t expires_at = 0;     // filled by the store: stored time + TTL
  std::uint64_t content_size = 0;  // filled by the store
};

/// Generic sealed key -> value tables. `group` is an optional second lookup
/// identifier (e.g. a patient id) that list_records() finds by hash.
enum class RecordTable { consents, users, exports, directives, audit, emergencies };
[[nodiscard]] const char* table_name(RecordTable t);

struct StoredRecord {
  std::string key;
  std::string group;
  std::string value;
};

struct CheckReport {
  std::uint64_t checked = 0;
  std::vector<IntegrityEvent> failures;  // each one now quarantined
  std::string sqlite_check;              // "ok" or SQLite's quick_check findings
};

struct RekeyStatus {
  bool running = false;  // true while records remain on an older key version
  std::uint32_t from_version = 0;
  std::uint32_t to_version = 0;
  std::uint64_t done = 0;
  std::uint64_t total = 0;
};

/// A document's content read a window at a time (Store::document_cursor).
class ContentCursor {
public:
  virtual ~ContentCursor() = default;
  /// The next window of authenticated plaintext: whole chunks, at least one,
  /// up to about `max_bytes`; empty once the whole content was read and its
  /// end verified. Each window is one reader job and one transaction: a slow
  /// consumer holds no reader thread, and memory holds one window. Calls
  /// must not overlap. Errors: not_found (removed meanwhile),
  /// content_changed (replaced or re-encrypted since the first window),
  /// record_corrupt (quarantined, as by read_content).
  virtual void next(std::size_t max_bytes, Callback<std::string> done) = 0;
  /// True once a window reached the end (verified): next() then answers
  /// empty without reading. Read it where a window's callback ran.
  [[nodiscard]] virtual bool ended() const = 0;
};

/// A document's content written a window at a time (Store::begin_publish).
/// Each write() is one writer job that seals its bytes into chunks staged
/// apart from every document; commit() then moves them under the document
/// and writes its row in one transaction, replacing any earlier version.
/// Until then nothing of the upload is visible. An upload dropped before
/// its commit has its staged chunks removed (and a store opened after a
/// crash removes any left). Memory: the bytes of one write plus one chunk.
class ContentUpload {
public:
  virtual ~ContentUpload() = default;
  /// Appends `bytes` (may be empty). Calls must not overlap. After an error
  /// the upload is spoiled: every later call fails with that error.
  virtual void write(std::string bytes, Callback<void> done) = 0;
  /// Publishes what was written as `doc`'s content (not empty:
  /// invalid_argument). `doc.content_size` is filled by the store.
  virtual void commit(DocumentRecord doc, Callback<void> done) = 0;
  /// Bytes written so far.
  [[nodiscard]] virtual std::uint64_t size() const = 0;
};

class Store {
public:
  /// Opens (creating if needed) the store under options.dir. Refuses a schema
  /// newer than this build (schema_too_new), a master key that does not match
  /// the store (master_key_mismatch) and a ring lacking a version the store
  /// still uses (key_unavailable) — in each case without changing anything.
  /// When the ring's active version is newer than the store's, a rekey is
  /// recorded as pending (run it with start_rekey()).
  static Result<std::unique_ptr<Store>> open(StoreOptions options, std::shared_ptr<const crypto::KeyRing> keys);
  ~Store();  // finishes queued work, then joins its threads
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Published documents. `content` is pulled on the writer thread; it must
  // stay valid until `done` runs. Publishing an existing document id replaces it.
  void publish(DocumentRecord doc, crypto::Source content, Callback<void> done);
  /// The same, with the content arriving a window at a time (from a
  /// network body): nothing is written before the first write(). The upload
  /// must not outlive the store.
  [[nodiscard]] std::shared_ptr<ContentUpload> begin_publish(std::string document_id);
  void get_document(std::string document_id, Callback<DocumentRecord> done);
  /// `out` receives authenticated plaintext chunk by chunk on a reader thread.
  void read_content(std::string document_id, crypto::Sink out, Callback<void> done);
  /// The same content, pulled a window at a time; nothing is read before
  /// the first next(). The cursor must not outlive the store.
  [[nodiscard]] std::shared_ptr<ContentCursor> document_cursor(std::string document_id);
  void list_documents(std::string patient_id, Callback<std::vector<DocumentRecord>> done);
  void remove_document(std::string document_id, Callback<void> done);

  // Cache of other facilities' documents: TTL from options, total size capped
  // by evicting the least recently used entries. `now` is unix seconds.
  void cache_put(CachedDocument doc, crypto::Source content, std::int64_t now, Callback<void> done);
  void cache_get(std::string facility, std::string document_id, std::int64_t now, Callback<CachedDocument> done);
  void cache_read(std::string facility, std::string document_id, std::int64_t now, crypto::Sink out,
                  Callback<void> done);
  /// Removes expired entries (or all with `all`); returns how many.
  void cache_purge(std::int64_t now, bool all, Callback<std::uint64_t> done);
  /// Removes the entries stored before `before` (unix seconds; the stored
  /// time is expires_at minus the TTL in force); returns how many.
  void cache_purge_before(std::int64_t before, Callback<std::uint64_t> done);

  void put_record(RecordTable table, StoredRecord record, Callback<void> done);
  void get_record(RecordTable table, std::string key, Callback<StoredRecord> done);
  void list_records(RecordTable table, std::string group, Callback<std::vector<StoredRecord>> done);
  /// Every record of the table, whatever its group, oldest write first.
  void list_all_records(RecordTable table, Callback<std::vector<StoredRecord>> done);
  /// How many rows the table holds, readable or not (nothing is opened).
  void count_records(RecordTable table, Callback<std::uint64_t> done);
  void erase_record(RecordTable table, std::string key, Callback<void> done);

  /// Opens every record (and every content chunk), quarantines failures.
  void check(Callback<CheckReport> done);

  /// Runs one rekey batch now (up to rekey_batch_rows records).
  void rekey_step(Callback<RekeyStatus> done);
  /// Runs rekey batches in the background until finished, between other writes.
  void start_rekey(Callback<RekeyStatus> done);
  [[nodiscard]] RekeyStatus rekey_status() const;
  /// Takes a ring with new key versions while the store serves: checks it
  /// as open() does (the store unchanged on error), records a pending rekey
  /// to its active version, then re-encrypts in the background. `started`
  /// sees the recorded status (running false: nothing to do); `finished`
  /// runs when the background rekey ends (only if this call started it).
  void adopt_keys(std::shared_ptr<const crypto::KeyRing> keys, Callback<RekeyStatus> started,
                  Callback<RekeyStatus> finished);

  struct Impl;

private:
  explicit Store(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace hiegate::daemon
