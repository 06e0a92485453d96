// The secretariat's side of shared/spec/directives.md: officer key files,
// the three bodies, detached signatures and their combination into DSSE
// envelopes. Every body is written only after it has been read back through
// the gateway's own parser (policy/directive_bodies.hpp) and found equal to
// what was meant, so the tool cannot emit a body a gateway would refuse as
// `invalid`. No clock: times are parameters. Thread-safe (no shared state).
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "hiegate/common/result.hpp"
#include "hiegate/crypto/sign.hpp"
#include "hiegate/policy/directive_bodies.hpp"

namespace hiegate::tools::secretariat {

// ---- files ----------------------------------------------------------------

/// Whole file, at most `max` bytes. Errors: `read_failed`.
[[nodiscard]] Result<std::string> read_file(const std::filesystem::path& p,
                                            std::size_t max = 1 << 20);
/// Atomic replace: temp file in the same directory, fsync, rename (0644).
/// Errors: `write_failed` (the previous file is intact).
[[nodiscard]] Status write_file_atomic(const std::filesystem::path& p, std::string_view data);

// ---- officer keys ---------------------------------------------------------

/// Secret key file: one line "hiegate-ed25519-seed-v1 <base64 seed>". Created
/// with O_EXCL, mode 0400. Errors: `exists`, `write_failed`.
[[nodiscard]] Status write_secret_key(const std::filesystem::path& p,
                                      const crypto::Ed25519SecretKey& key);
/// Refuses a file readable by group or others (`insecure_key_file`), or not
/// in the format above (`bad_key_file`).
[[nodiscard]] Result<crypto::Ed25519KeyPair> read_secret_key(const std::filesystem::path& p);
/// Standard base64 of a valid Ed25519 public key. Errors: `bad_public_key`.
[[nodiscard]] Result<crypto::Ed25519PublicKey> parse_public_key(std::string_view b64);

// ---- bodies -----------------------------------------------------------------

/// JSON of each body, checked by re-parsing: `invalid` with the parser's
/// message if the value breaks a rule, `internal` if it reads back different.
[[nodiscard]] Result<std::string> keyset_body(const policy::Keyset& k);
[[nodiscard]] Result<std::string> orders_body(const policy::OrderSet& o);
[[nodiscard]] Result<std::string> heartbeat_body(const policy::Heartbeat& h);

/// A heartbeat for the orders body `orders` (its sequence and digest),
/// valid from `now` for `valid_for`. `wrong_network` if the orders are of
/// another network; `invalid` if the result breaks a rule (over 7 days).
[[nodiscard]] Result<std::string> heartbeat_for(std::string_view network,
                                                std::uint64_t keyset_version,
                                                std::uint64_t sequence, std::string_view orders,
                                                policy::Time now, std::chrono::seconds valid_for);

/// heartbeat_for, signed with the online heartbeat `key` and enveloped.
[[nodiscard]] Result<std::string> signed_heartbeat(std::string_view network, std::uint64_t keyset_version,
                                                   std::uint64_t sequence, std::string_view orders, policy::Time now,
                                                   std::chrono::seconds valid_for,
                                                   const crypto::Ed25519KeyPair& key);

/// "90s", "30m", "24h", "7d". Errors: `bad_duration`.
[[nodiscard]] Result<std::chrono::seconds> parse_duration(std::string_view s);

/// "keyset", "orders", "heartbeat". Errors: `bad_type`.
[[nodiscard]] Result<policy::DocumentKind> parse_kind(std::string_view s);

/// Parses `body` as a document of `kind` (the reader of directive_bodies).
[[nodiscard]] Status check_body(policy::DocumentKind kind, std::string_view body);

// ---- signatures -------------------------------------------------------------

/// One officer's signature over one body, as a file of its own:
/// {"payloadType":…,"body_sha256":<hex>,"public_key":<b64>,"keyid":…,"sig":<b64>}
struct DetachedSignature {
  std::string payload_type;
  std::string body_sha256;
  crypto::Ed25519PublicKey public_key{};
  std::string keyid;
  crypto::Bytes sig;
};

/// Signs PAE(type, body) after checking the body parses as `kind`.
[[nodiscard]] Result<DetachedSignature> sign_body(policy::DocumentKind kind, std::string_view body,
                                                  const crypto::Ed25519KeyPair& key);
[[nodiscard]] std::string encode_signature(const DetachedSignature& s);
/// Errors: `bad_signature_file`.
[[nodiscard]] Result<DetachedSignature> decode_signature(std::string_view json);

/// The DSSE envelope of `body` with `sigs`. Each signature must be over this
/// very body and type and verify under its public key (`signature_mismatch`
/// names the first that does not); the same key twice is `duplicate_signer`.
/// Thresholds are the gateway's business and are not checked here.
[[nodiscard]] Result<std::string> combine(policy::DocumentKind kind, std::string_view body,
                                          const std::vector<DetachedSignature>& sigs);

}  // namespace hiegate::tools::secretariat
