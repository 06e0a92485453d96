// The tamper-evident audit trail (docs/audit.md).
//
// Records live in their own SQLite database `<dir>/audit.db` (WAL), written
// by one writer thread that commits many records at once (group commit); a
// second thread flushes the WAL (fdatasync) and only then runs the callbacks,
// so the writer's next group overlaps the flush (daemon/audit/syncer.hpp). Lookups by patient and user go through an
// index written in segments, not per record (daemon/audit/lookup.hpp). Each record's body is sealed; only the
// sequence, time, action, outcome, event type, emergency flag and keyed
// hashes of patient and user are plaintext columns. Records form a keyed
// BLAKE2b hash chain; checkpoints of the chain head are signed with an
// Ed25519 key derived from the audit subkey.
//
// Keys: everything is derived from the KeyRing's `audit` subkey of the
// record's key version, so the master key files of every version still
// referenced by the trail must be kept.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hiegate/common/result.hpp"
#include "hiegate/crypto/keys.hpp"

namespace hiegate::daemon {

class Logger;

/// IHE ATNA / FHIR AuditEvent.action: Create, Read, Update, Delete, Execute.
enum class AuditAction : char { create = 'C', read = 'R', update = 'U', del = 'D', execute = 'E' };
/// FHIR AuditEvent.outcome: 0 success, 4 minor failure (e.g. refused by
/// policy), 8 serious failure, 12 major failure.
enum class AuditOutcome : int { success = 0, minor_failure = 4, serious_failure = 8, major_failure = 12 };

/// One audited event. Strings are free text chosen by the caller; see
/// docs/audit.md for the event types and their ATNA mapping.
struct AuditRecord {
  std::int64_t time_ms = 0;  ///< UTC, ms since the epoch; 0 = now (the log's clock)
  std::string event;         ///< event type: "decision", "document_read", "export", "emergency_access", ...
  AuditAction action = AuditAction::read;
  AuditOutcome outcome = AuditOutcome::success;
  std::string facility;       ///< this gateway's facility (agent.network / source)
  std::string user;           ///< agent.who
  std::string role;           ///< agent.role
  std::string peer_facility;  ///< the other facility, if any
  std::string patient;        ///< entity (patient); sealed, looked up by keyed hash
  std::string purpose;        ///< purposeOfEvent ("treatment", "emergency", ...)
  std::string reason_code;    ///< stable error/decision code ("", "consent_missing", ...)
  std::string rule;           ///< the policy rule that decided, if any
  std::string detail;         ///< free text: emergency reason, admin command, ...
  std::string request_id;
  std::vector<std::string> document_ids;
  bool emergency = false;
};

struct AuditOptions {
  std::filesystem::path dir;  ///< holds audit.db
  std::size_t group_max_records = 256;
  /// Extra wait for more records before a commit. 0: commit whatever is
  /// queued at once (records arriving during an fsync form the next group).
  std::chrono::microseconds group_max_wait{0};
  std::uint64_t checkpoint_every = 1000;  ///< records between checkpoints
  std::chrono::seconds checkpoint_interval{300};
  bool durable = true;           ///< every commit flushed before its callbacks; false only for benchmarks
  std::int64_t max_page_count = 0;  ///< SQLite page limit (tests of a full disk); 0 = none
  std::chrono::hours retention{24 * 365 * 5};
  std::string syslog_socket;     ///< Unix datagram socket for RFC 5424 forwarding ("" = off)
  /// RFC 5425 forwarding over TLS to a collector ("" = off; exclusive with
  /// syslog_socket): host name checked against its certificate, which must
  /// chain to a CA in `syslog_ca` (PEM).
  std::string syslog_tls_host;
  std::uint16_t syslog_tls_port = 6514;
  std::filesystem::path syslog_ca;
  std::size_t syslog_backlog = 10000;
  std::string hostname = "hiegate";  ///< RFC 5424 HOSTNAME
  std::function<std::int64_t()> clock;  ///< UTC ms; default system_clock
};

/// One signed checkpoint: the chain head after record `seq`.
struct AuditCheckpoint {
  std::uint64_t seq = 0;
  std::int64_t time_ms = 0;
  std::uint32_t key_version = 0;
  std::vector<std::uint8_t> head;        // 32 bytes
  std::vector<std::uint8_t> public_key;  // Ed25519, 32 bytes
  std::vector<std::uint8_t> signature;   // 64 bytes
};

/// JSON Lines form of a checkpoint (with the public key) and its parser.
[[nodiscard]] std::string checkpoint_to_json(const AuditCheckpoint& c);
[[nodiscard]] Result<AuditCheckpoint> checkpoint_from_json(std::string_view line);

struct AuditFinding {
  /// record_changed, record_removed, record_inserted, records_reordered,
  /// tail_truncated, checkpoint_invalid, checkpoint_mismatch,
  /// checkpoint_missing, index_changed (a record missing from the patient
  /// or user lookup index, which reports use).
  std::string kind;
  std::uint64_t seq = 0;  ///< the record (or checkpoint) concerned
  std::string message;
};

struct AuditVerifyReport {
  std::uint64_t records = 0;
  std::uint64_t checkpoints = 0;
  std::uint64_t first_seq = 0, last_seq = 0;
  std::vector<AuditFinding> findings;  ///< in trail order; empty = intact
  [[nodiscard]] bool ok() const { return findings.empty(); }
};

struct AuditQuery {
  std::optional<std::string> patient, user;
  bool emergency_only = false;
  std::int64_t from_ms = 0;
  std::int64_t to_ms = INT64_MAX;
};

/// A record read back with its place in the trail.
struct AuditEntry {
  std::uint64_t seq = 0;
  AuditRecord record;
};

/// Serialises an entry as one JSON object (no newline). The patient id is
/// included only if `with_patient`; otherwise its keyed hash (hex) is.
[[nodiscard]] std::string entry_to_json(const AuditEntry& e, std::string_view patient_hash_hex, bool with_patient);

/// Read-only access to a trail (works while a daemon writes: WAL). Each
/// object owns one connection; use from one thread at a time.
class AuditReader {
public:
  static Result<std::unique_ptr<AuditReader>> open(const std::filesystem::path& dir,
                                                   std::shared_ptr<const crypto::KeyRing> keys);
  ~AuditReader();
  AuditReader(const AuditReader&) = delete;
  AuditReader& operator=(const AuditReader&) = delete;

  /// Walks the whole trail: chain, sealed bodies, plaintext columns,
  /// checkpoint signatures and heads, tail.
  Result<AuditVerifyReport> verify();
  /// Like verify(), then checks that every external checkpoint (from an
  /// earlier `checkpoints --out`) is consistent with the local trail.
  Result<AuditVerifyReport> verify_against_external(const std::vector<AuditCheckpoint>& external);
  Result<std::vector<AuditCheckpoint>> checkpoints();
  /// Matching records, oldest first. Fails closed: a record whose body does
  /// not open is an error (record_corrupt), not silently skipped.
  Result<std::vector<AuditEntry>> query(const AuditQuery& q);
  /// Every record from `from_seq` on, in order, to `fn` (with the keyed
  /// patient hash as hex); stops at the first error `fn` returns.
  Status for_each(std::uint64_t from_seq,
                  const std::function<Status(const AuditEntry&, std::string_view patient_hash_hex)>& fn);

  struct Impl;

private:
  explicit AuditReader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// The writing side, owned by the daemon. All methods are thread-safe.
/// Callbacks run on the audit flusher thread, in commit order: keep them short, never call back into
/// append() synchronously waiting for it.
class AuditLog {
public:
  /// Opens or creates `<dir>/audit.db` and starts the writer thread.
  static Result<std::unique_ptr<AuditLog>> open(const AuditOptions& options,
                                                std::shared_ptr<const crypto::KeyRing> keys, Logger& log);
  /// Commits everything queued, writes a final checkpoint, stops the threads.
  ~AuditLog();
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  /// Queues `r`; `durable` runs once it is fsync'd (ok) or could not be
  /// written (`audit_unavailable`: the caller must refuse the request). A
  /// failed group leaves the trail unchanged; later appends retry.
  void append(AuditRecord r, std::function<void(Status)> durable);
  /// Signs a checkpoint of the current head now (no-op if nothing new).
  void checkpoint(std::function<void(Status)> done);
  /// Deletes whole checkpointed segments older than `now - retention`: the
  /// records up to the newest checkpoint before the cut. That checkpoint
  /// stays as the anchor; the pruning is itself appended as a record
  /// (`actor` as user). `done` gets the number of records removed.
  void prune(std::string actor, std::function<void(Result<std::uint64_t>)> done);
  /// Same queries as AuditReader::query, through a fresh read connection
  /// (blocking; for the admin API).
  Result<std::vector<AuditEntry>> query(const AuditQuery& q);
  /// Records forwarded to syslog / dropped because the backlog was full.
  struct ForwardStats {
    std::uint64_t sent = 0, dropped = 0, pending = 0;
    std::string last_error;  ///< why the last attempt failed ("" = none yet)
  };
  [[nodiscard]] ForwardStats forward_stats() const;

  struct Impl;

private:
  explicit AuditLog(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// Whether a process (a running hiegated) holds the writer lock of the trail
/// in `dir` (its state directory) now. Tools that change the state directly
/// (restore, store rekey, directives apply --offline) refuse while it does.
[[nodiscard]] bool trail_in_use(const std::filesystem::path& dir);

/// How a tool run beside or instead of the daemon records what it did
/// (hiegatectl backup, restore, store rekey). If no process writes the trail
/// in `options.dir`, `r` is appended through a short-lived AuditLog and is
/// durable on return ("appended"). If a daemon holds it (audit_busy), `r` is
/// sealed into <dir>/audit-spool/ (fsync'd) and that daemon appends it within
/// about a second, keeping its time ("spooled"); a daemon started later
/// appends it at start.
Result<std::string> record_offline(const AuditOptions& options, std::shared_ptr<const crypto::KeyRing> keys,
                                   AuditRecord r, Logger& log);

}  // namespace hiegate::daemon
