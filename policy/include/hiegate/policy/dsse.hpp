// DSSE envelopes as the directives use them (shared/spec/directives.md §1).
//
// Decoding is strict and does no cryptography: it yields the payload bytes
// and the raw signatures; counting valid signers is the verifier's job.
// Pure functions, thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "hiegate/common/result.hpp"
#include "hiegate/crypto/encoding.hpp"

namespace hiegate::policy {

struct EnvelopeLimits {
  std::size_t max_bytes = 64 * 1024;
  std::size_t max_signatures = 16;
};

struct EnvelopeSignature {
  std::string keyid;  // 16 lower-case hex digits: a hint, never trusted
  crypto::Bytes sig;  // decoded; any length (a wrong length just fails to verify)
};

struct Envelope {
  std::string payload_type;
  std::string payload;  // the BODY bytes, decoded from base64
  std::vector<EnvelopeSignature> signatures;
};

/// Error code `malformed` for: over the size or signature limits, not a
/// strict JSON object, a missing, mistyped or unknown member (envelope or
/// signature entry), `payload`/`sig` not standard padded base64, a keyid that
/// is not 16 lower-case hex digits.
[[nodiscard]] Result<Envelope> decode_envelope(std::string_view bytes,
                                               const EnvelopeLimits& limits = {});

/// A push body (§5): one envelope, or a JSON array of envelopes to apply in
/// order. One envelope comes back byte for byte; array elements come back
/// re-encoded compactly (signatures cover the payload, not these bytes).
/// `malformed` if the body is not strict JSON, not an object or an array of
/// objects, empty, or holds more than `max_envelopes`.
[[nodiscard]] Result<std::vector<std::string>> split_delivery(std::string_view body,
                                                              std::size_t max_envelopes = 32);

/// Canonical compact encoding (what the secretariat tools emit).
[[nodiscard]] std::string encode_envelope(const Envelope& envelope);

/// `"DSSEv1" SP LEN(type) SP type SP LEN(body) SP body`.
[[nodiscard]] std::string pae(std::string_view payload_type, std::string_view body);

/// Lower-case hex of the first 8 bytes of SHA-256 of the public key.
[[nodiscard]] std::string keyid_of(crypto::ByteView public_key);

}  // namespace hiegate::policy
