// The directive verifier (shared/spec/directives.md §3): a pure value state
// and pure functions over it. No I/O, no clock: `now` is a parameter.
//
// Typical daemon use, with the state held behind a mutex or an atomic
// snapshot:
//   Verdict v = apply(state, bytes, now, options);
//   if (v.decision == Outcome::accept) { persist(*v.kind, bytes); state = *v.next; }
//   audit(v);  // every rejection with code(v.reason)
// `apply` never changes its input: on rejection the previous state stays in
// force by construction.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hiegate/common/result.hpp"
#include "hiegate/policy/directive_bodies.hpp"
#include "hiegate/policy/dsse.hpp"
#include "hiegate/policy/rfc3339.hpp"

namespace hiegate::policy {

struct VerifierOptions {
  std::string network;  // ours, e.g. "nishitama"
  std::chrono::seconds max_clock_skew{300};
  std::chrono::seconds max_heartbeat_validity = kDefaultMaxHeartbeatValidity;
  EnvelopeLimits limits;
};

enum class Outcome : std::uint8_t { accept, noop, reject };

/// The spec's rejection reasons; `code()` gives the stable snake_case name.
enum class RejectReason : std::uint8_t {
  malformed,
  unknown_type,
  threshold,
  type_mismatch,
  invalid,
  wrong_network,
  keyset_version,
  future,
  expired,
  rollback,
  equivocation,
  version_gap
};
[[nodiscard]] std::string_view code(RejectReason r) noexcept;
[[nodiscard]] std::optional<RejectReason> reject_reason_from_code(std::string_view s) noexcept;

/// An accepted document: the exact envelope bytes (what is persisted), the
/// signed body bytes (what equality and digests are about) and its value.
template <class T>
struct Accepted {
  std::string envelope;
  std::string body;
  T value;
};

/// Everything the verifier holds. Plain value: copyable, comparable by the
/// caller, safe to share read-only between threads.
struct DirectiveState {
  /// Every accepted keyset, versions 1..N without gaps (1 = trust anchor).
  std::map<std::uint64_t, Accepted<Keyset>> keysets;
  std::optional<Accepted<OrderSet>> orders;
  std::optional<Accepted<Heartbeat>> heartbeat;
  /// While behind(): the first heartbeat of the stretch, whose issued_at
  /// starts stale_grace (heartbeats that keep naming orders never received
  /// must not restart it). Empty when not behind.
  std::optional<Accepted<Heartbeat>> behind_from;

  /// The stored heartbeat names an orders sequence above the stored one
  /// (after a key-change reset the stored one counts as 0), or the stored
  /// sequence with a different digest (§4 "behind").
  [[nodiscard]] bool behind() const;

  /// Preconditions: keysets not empty (true of every state the functions
  /// below produce).
  [[nodiscard]] const Keyset& current_keyset() const { return keysets.rbegin()->second.value; }
  [[nodiscard]] std::uint64_t keyset_version() const { return keysets.rbegin()->first; }

  /// What a new document of `kind` is compared with: the stored version for
  /// keysets; for orders and heartbeats the stored sequence, or 0 when none
  /// is stored or when that role's keys changed in a keyset newer than the
  /// one the stored document names (the spec's sequence reset).
  [[nodiscard]] std::uint64_t sequence_floor(DocumentKind kind) const;
};

struct Verdict {
  Outcome decision = Outcome::reject;
  RejectReason reason = RejectReason::malformed;  // meaningful on reject only
  std::string detail;                             // for logs and operators: no secrets
  std::optional<DocumentKind> kind;               // known once the payloadType is
  std::uint64_t sequence = 0;          // sequence (or keyset version) once the body is read
  std::optional<DirectiveState> next;  // set on accept only

  [[nodiscard]] bool rejected() const noexcept { return decision == Outcome::reject; }
};

/// One envelope against the state, in the spec's order (§3 steps 1-6).
[[nodiscard]] Verdict apply(const DirectiveState& state, std::string_view envelope, Time now,
                            const VerifierOptions& options);

/// Installs keyset version 1 (facility IT's file). It must be a keyset of our
/// network, version 1, valid under its own root threshold. The clock is not
/// consulted: the anchor is authenticated by its fingerprint, out of band.
/// Error::code is a RejectReason code.
[[nodiscard]] Result<DirectiveState> install_trust_anchor(std::string_view envelope,
                                                          const VerifierOptions& options);

/// Lower-case hex SHA-256 of the keyset BODY of `envelope` (the signed bytes,
/// so that adding signatures does not change it). `malformed` if the envelope
/// does not decode, `type_mismatch` if it is not a keyset.
[[nodiscard]] Result<std::string> trust_anchor_fingerprint(std::string_view envelope,
                                                           const EnvelopeLimits& limits = {});

/// The raw envelopes a state is made of, as a store keeps them.
struct StoredEnvelopes {
  std::string trust_anchor;
  std::vector<std::string> keysets;  // versions 2..N in order
  std::optional<std::string> orders;
  std::optional<std::string> heartbeat;
  std::optional<std::string> behind_from;  // DirectiveState::behind_from
};

[[nodiscard]] StoredEnvelopes envelopes_of(const DirectiveState& state);

/// Rebuilds and re-verifies a whole stored state at start: the keyset chain
/// from the anchor, then the orders and heartbeat, each under the keyset
/// version it names. No clock checks (an expired heartbeat is merely stale).
/// Any failure is an error (the caller enters failsafe); Error::code is a
/// RejectReason code and the message names the document.
[[nodiscard]] Result<DirectiveState> verify_stored(const StoredEnvelopes& stored,
                                                   const VerifierOptions& options);

}  // namespace hiegate::policy
