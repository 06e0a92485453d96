// The audit trail's keys, record encoding, hash chain and checkpoint
// signatures. Private to the daemon library. Thread-safe (immutable after
// construction).
#pragma once

#include <array>
#include <map>
#include <memory>
#include <string>

#include "hiegate/crypto/sign.hpp"
#include "hiegate/daemon/audit.hpp"
#include "store/sqlite.hpp"

namespace hiegate::daemon::audit {

using Hash = std::array<std::uint8_t, 32>;
inline constexpr const char* kSealTable = "audit_records";
inline constexpr const char* kDbName = "audit.db";

/// Everything derived from the `audit` subkeys of a master KeyRing: a ring
/// whose content/identifier subkeys seal bodies and hash identifiers (so
/// audit data never shares keys with the store), a chain key and an Ed25519
/// checkpoint key per key version.
class Keys {
public:
  static Result<std::shared_ptr<const Keys>> derive(const crypto::KeyRing& master);
  [[nodiscard]] const crypto::KeyRing& ring() const { return ring_; }
  [[nodiscard]] std::uint32_t active_version() const { return ring_.active_version(); }
  [[nodiscard]] bool has(std::uint32_t v) const { return ring_.has(v); }
  /// Preconditions: has(v).
  [[nodiscard]] const Hash& chain_key(std::uint32_t v) const { return chain_.at(v); }
  [[nodiscard]] const crypto::Ed25519KeyPair& signer(std::uint32_t v) const { return signers_.at(v); }
  /// Keyed hash of a patient or user id; empty id -> empty.
  [[nodiscard]] crypto::Bytes id_hash(std::uint32_t v, std::string_view kind, std::string_view id) const;

private:
  explicit Keys(crypto::KeyRing ring) : ring_(std::move(ring)) {}
  crypto::KeyRing ring_;
  std::map<std::uint32_t, Hash> chain_;
  std::map<std::uint32_t, crypto::Ed25519KeyPair> signers_;
};

/// Canonical body: compact JSON with sorted keys, including `seq`.
[[nodiscard]] std::string encode_body(std::uint64_t seq, const AuditRecord& r);
/// Replaces invalid UTF-8 in every text field by U+FFFD, as the writer
/// stores records (header-borne fields may hold any bytes).
void repair_text(AuditRecord& r);
/// encode_body for a record whose text is valid UTF-8 (after repair_text):
/// the same bytes without checking again.
[[nodiscard]] std::string encode_repaired_body(std::uint64_t seq, const AuditRecord& r);
/// The same through nlohmann::json (the definition of the canonical form;
/// tests compare the two).
[[nodiscard]] std::string encode_body_reference(std::uint64_t seq, const AuditRecord& r);
/// Inverse of encode_body; record_malformed on anything unexpected.
Result<AuditEntry> decode_body(std::string_view body);

/// head' = BLAKE2b-256 keyed with the chain key over "hiegate-audit-chain-v1" | head | body.
[[nodiscard]] Hash chain_next(const Hash& key, const Hash& prev, crypto::ByteView body);

/// The signed message of a checkpoint.
[[nodiscard]] crypto::Bytes checkpoint_message(std::uint64_t seq, const crypto::Bytes& head, std::int64_t time_ms,
                                               std::uint32_t key_version);
[[nodiscard]] AuditCheckpoint sign_checkpoint(const Keys& keys, std::uint32_t v, std::uint64_t seq, const Hash& head,
                                              std::int64_t time_ms);
/// Signature valid under the checkpoint's own public key (and, when
/// `keys` holds its version, that key is ours).
[[nodiscard]] bool checkpoint_valid(const AuditCheckpoint& c, const Keys* keys);

// Storage.
/// Opens audit.db and creates the schema (writer) or just opens it (reader).
Result<sqlite::Db> open_db(const std::filesystem::path& dir, bool readonly);
Result<std::vector<AuditCheckpoint>> load_checkpoints(sqlite::Db& db);
/// The pruning anchor (0 when the trail starts at record 1).
Result<std::uint64_t> load_anchor(sqlite::Db& db);
[[nodiscard]] std::string action_code(AuditAction a);
[[nodiscard]] inline Hash to_hash(crypto::ByteView b) {
  Hash h{};
  if (b.size() == h.size()) std::copy(b.begin(), b.end(), h.begin());
  return h;
}

}  // namespace hiegate::daemon::audit
