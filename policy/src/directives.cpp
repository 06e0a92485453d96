#include "hiegate/policy/directives.hpp"

#include <algorithm>
#include <set>
#include <variant>

#include "hiegate/crypto/sign.hpp"

namespace hiegate::policy {
namespace {

constexpr RejectReason kAllReasons[] = {
    RejectReason::malformed,      RejectReason::unknown_type, RejectReason::threshold,
    RejectReason::type_mismatch,  RejectReason::invalid,      RejectReason::wrong_network,
    RejectReason::keyset_version, RejectReason::future,       RejectReason::expired,
    RejectReason::rollback,       RejectReason::equivocation, RejectReason::version_gap};

using Body = std::variant<Keyset, OrderSet, Heartbeat>;

// The members every body kind shares, for the generic steps.
struct Header {
  std::uint64_t sequence;        // version for a keyset
  std::uint64_t keyset_version;  // 0 for a keyset
  Time issued_at;
};

Header header_of(const Body& body) {
  if (const auto* k = std::get_if<Keyset>(&body)) return {k->version, 0, k->issued_at};
  if (const auto* o = std::get_if<OrderSet>(&body))
    return {o->sequence, o->keyset_version, o->issued_at};
  const auto& h = std::get<Heartbeat>(body);
  return {h.sequence, h.keyset_version, h.issued_at};
}

const std::string& network_of(const Body& body) {
  return std::visit([](const auto& b) -> const std::string& { return b.network; }, body);
}

Error reject_error(RejectReason r, std::string detail) {
  return make_error(std::string(code(r)), std::move(detail));
}

RejectReason reason_of(const Error& e) {
  return reject_reason_from_code(e.code).value_or(RejectReason::malformed);
}

/// Step 3: the number of distinct keys of `role` that signed the PAE bytes.
/// The keyid hints are ignored: every signature is tried with every key.
bool meets_threshold(const Envelope& env, const RoleKeys& role) {
  const std::string message = pae(env.payload_type, env.payload);
  std::size_t signers = 0;
  for (const crypto::Ed25519PublicKey& key : role.keys) {
    for (const EnvelopeSignature& s : env.signatures) {
      if (crypto::ed25519_verify(key, crypto::as_bytes(message), s.sig)) {
        ++signers;
        break;
      }
    }
  }
  return role.threshold > 0 && signers >= role.threshold;
}

/// Step 4 without the keyset_version check: strict parse, type, schema, network.
Result<Body> read_body(const Envelope& env, DocumentKind kind, const VerifierOptions& options) {
  Result<Body> body = [&]() -> Result<Body> {
    switch (kind) {
      case DocumentKind::keyset: {
        auto v = parse_keyset_body(env.payload);
        if (!v) return std::move(v).error();
        return Body(std::move(*v));
      }
      case DocumentKind::orders: {
        auto v = parse_orders_body(env.payload);
        if (!v) return std::move(v).error();
        return Body(std::move(*v));
      }
      case DocumentKind::heartbeat: {
        auto v = parse_heartbeat_body(env.payload, options.max_heartbeat_validity);
        if (!v) return std::move(v).error();
        return Body(std::move(*v));
      }
    }
    return make_error("invalid", "unknown document kind");
  }();
  if (!body) return body;
  if (network_of(*body) != options.network) {
    return reject_error(RejectReason::wrong_network,
                        "network \"" + network_of(*body) + "\" is not \"" + options.network + "\"");
  }
  return body;
}

// Steps 1-2.
struct Decoded {
  Envelope env;
  DocumentKind kind;
};

Result<Decoded> decode(std::string_view bytes, const EnvelopeLimits& limits) {
  auto env = decode_envelope(bytes, limits);
  if (!env) return std::move(env).error();
  const auto kind = kind_of_payload_type(env->payload_type);
  if (!kind) return reject_error(RejectReason::unknown_type, "unknown payloadType");
  return Decoded{std::move(*env), *kind};
}

std::set<crypto::Ed25519PublicKey> key_set(const RoleKeys& r) {
  return {r.keys.begin(), r.keys.end()};
}

// After any change: the stretch behind starts with the heartbeat that
// began it, and ends once the orders it names are held.
void track_behind(DirectiveState& state) {
  if (!state.behind()) {
    state.behind_from.reset();
  } else if (!state.behind_from) {
    state.behind_from = state.heartbeat;
  }
}

void store_document(DirectiveState& state, DocumentKind kind, std::string_view envelope, std::string body,
                    Body value) {
  switch (kind) {
    case DocumentKind::keyset: {
      const std::uint64_t v = std::get<Keyset>(value).version;
      state.keysets.insert_or_assign(v, Accepted<Keyset>{std::string(envelope), std::move(body),
                                                         std::get<Keyset>(std::move(value))});
      return;
    }
    case DocumentKind::orders:
      state.orders = Accepted<OrderSet>{std::string(envelope), std::move(body),
                                        std::get<OrderSet>(std::move(value))};
      return;
    case DocumentKind::heartbeat:
      state.heartbeat = Accepted<Heartbeat>{std::string(envelope), std::move(body),
                                            std::get<Heartbeat>(std::move(value))};
      return;
  }
}

void store(DirectiveState& state, DocumentKind kind, std::string_view envelope, std::string body, Body value) {
  store_document(state, kind, envelope, std::move(body), std::move(value));
  track_behind(state);
}

// apply() without the clock when `now` is empty (re-verification at start).
Verdict apply_at(const DirectiveState& state, std::string_view bytes, std::optional<Time> now,
                 const VerifierOptions& options) {
  Verdict v;
  const auto fail = [&v](RejectReason r, std::string detail) {
    v.decision = Outcome::reject;
    v.reason = r;
    v.detail = std::move(detail);
    return std::move(v);
  };
  if (state.keysets.empty()) return fail(RejectReason::threshold, "no keyset installed");

  auto decoded = decode(bytes, options.limits);
  if (!decoded) return fail(reason_of(decoded.error()), decoded.error().message);
  const Envelope& env = decoded->env;
  const DocumentKind kind = decoded->kind;
  v.kind = kind;

  const Keyset& current = state.current_keyset();
  if (!meets_threshold(env, current.role(signing_role(kind)))) {
    return fail(RejectReason::threshold, "fewer valid " + std::string(name(signing_role(kind))) +
                                             " signatures than the threshold of keyset version " +
                                             std::to_string(current.version));
  }
  auto body = read_body(env, kind, options);
  if (!body) return fail(reason_of(body.error()), body.error().message);
  const Header h = header_of(*body);
  v.sequence = h.sequence;

  if (kind != DocumentKind::keyset && h.keyset_version != state.keyset_version()) {
    return fail(RejectReason::keyset_version,
                "names keyset version " + std::to_string(h.keyset_version) + ", installed is " +
                    std::to_string(state.keyset_version()));
  }
  if (now && h.issued_at > *now + options.max_clock_skew) {
    return fail(RejectReason::future,
                "issued_at " + format_rfc3339(h.issued_at) + " is in the future");
  }
  if (now && kind == DocumentKind::heartbeat && *now >= std::get<Heartbeat>(*body).expires_at) {
    return fail(RejectReason::expired,
                "heartbeat expired at " + format_rfc3339(std::get<Heartbeat>(*body).expires_at));
  }

  // Step 6.
  const std::uint64_t floor = state.sequence_floor(kind);
  if (h.sequence < floor) {
    return fail(RejectReason::rollback,
                std::to_string(h.sequence) + " is below the stored " + std::to_string(floor));
  }
  if (h.sequence == floor) {
    const std::string& stored_body = kind == DocumentKind::keyset
                                         ? state.keysets.rbegin()->second.body
                                     : kind == DocumentKind::orders ? state.orders->body
                                                                    : state.heartbeat->body;
    if (stored_body == env.payload) {
      v.decision = Outcome::noop;
      v.detail = "same " + std::string(name(kind)) + " as stored";
      return v;
    }
    return fail(RejectReason::equivocation, "a different " + std::string(name(kind)) +
                                                " with the stored sequence " +
                                                std::to_string(floor));
  }
  if (kind == DocumentKind::keyset) {
    if (h.sequence > floor + 1) {
      return fail(RejectReason::version_gap, "keyset version " + std::to_string(h.sequence) +
                                                 " while " + std::to_string(floor) +
                                                 " is installed");
    }
    if (!meets_threshold(env, std::get<Keyset>(*body).root)) {
      return fail(RejectReason::threshold, "keyset version " + std::to_string(h.sequence) +
                                               " does not meet its own root threshold");
    }
  }

  DirectiveState next = state;
  store(next, kind, bytes, env.payload, std::move(*body));
  v.decision = Outcome::accept;
  v.detail = "accepted " + std::string(name(kind)) + " " + std::to_string(h.sequence);
  v.next = std::move(next);
  return v;
}

// Re-verifies a stored orders or heartbeat envelope under the keyset version
// it names.
Status restore_document(DirectiveState& state, DocumentKind expected, const std::string& bytes,
                        const VerifierOptions& options) {
  const std::string what = "stored " + std::string(name(expected)) + ": ";
  auto decoded = decode(bytes, options.limits);
  if (!decoded) return make_error(decoded.error().code, what + decoded.error().message);
  if (decoded->kind != expected) {
    return reject_error(RejectReason::type_mismatch, what + "wrong payloadType");
  }
  // Signatures first; the body may only be read once some keyset version's
  // threshold is met, and it must then name one of those versions.
  std::set<std::uint64_t> signed_under;
  for (const auto& [version, ks] : state.keysets) {
    if (meets_threshold(decoded->env, ks.value.role(signing_role(expected))))
      signed_under.insert(version);
  }
  if (signed_under.empty())
    return reject_error(RejectReason::threshold, what + "signatures do not verify");
  auto body = read_body(decoded->env, expected, options);
  if (!body) return make_error(body.error().code, what + body.error().message);
  if (signed_under.count(header_of(*body).keyset_version) == 0) {
    return reject_error(RejectReason::keyset_version,
                        what + "not signed under the keyset version it names");
  }
  store(state, expected, bytes, decoded->env.payload, std::move(*body));
  return {};
}

}  // namespace

std::string_view code(RejectReason r) noexcept {
  switch (r) {
    case RejectReason::malformed:
      return "malformed";
    case RejectReason::unknown_type:
      return "unknown_type";
    case RejectReason::threshold:
      return "threshold";
    case RejectReason::type_mismatch:
      return "type_mismatch";
    case RejectReason::invalid:
      return "invalid";
    case RejectReason::wrong_network:
      return "wrong_network";
    case RejectReason::keyset_version:
      return "keyset_version";
    case RejectReason::future:
      return "future";
    case RejectReason::expired:
      return "expired";
    case RejectReason::rollback:
      return "rollback";
    case RejectReason::equivocation:
      return "equivocation";
    case RejectReason::version_gap:
      return "version_gap";
  }
  return "malformed";
}

std::optional<RejectReason> reject_reason_from_code(std::string_view s) noexcept {
  for (RejectReason r : kAllReasons) {
    if (code(r) == s) return r;
  }
  return std::nullopt;
}

bool DirectiveState::behind() const {
  if (!heartbeat) return false;
  const Heartbeat& hb = heartbeat->value;
  const std::uint64_t held = sequence_floor(DocumentKind::orders);
  return hb.orders_sequence > held ||
         (hb.orders_sequence == held && orders && crypto::sha256(orders->body) != hb.orders_digest);
}

std::uint64_t DirectiveState::sequence_floor(DocumentKind kind) const {
  if (kind == DocumentKind::keyset) return keysets.empty() ? 0 : keyset_version();
  const KeyRole role = signing_role(kind);
  std::uint64_t named = 0, sequence = 0;
  if (kind == DocumentKind::orders && orders) {
    named = orders->value.keyset_version;
    sequence = orders->value.sequence;
  } else if (kind == DocumentKind::heartbeat && heartbeat) {
    named = heartbeat->value.keyset_version;
    sequence = heartbeat->value.sequence;
  } else {
    return 0;
  }
  for (auto it = keysets.upper_bound(named); it != keysets.end(); ++it) {
    const auto prev = keysets.find(it->first - 1);
    if (prev == keysets.end() ||
        key_set(prev->second.value.role(role)) != key_set(it->second.value.role(role))) {
      return 0;
    }
  }
  return sequence;
}

Verdict apply(const DirectiveState& state, std::string_view envelope, Time now,
              const VerifierOptions& options) {
  return apply_at(state, envelope, now, options);
}

Result<DirectiveState> install_trust_anchor(std::string_view envelope,
                                            const VerifierOptions& options) {
  auto decoded = decode(envelope, options.limits);
  if (!decoded) return std::move(decoded).error();
  if (decoded->kind != DocumentKind::keyset) {
    return reject_error(RejectReason::type_mismatch, "the trust anchor is not a keyset");
  }
  // The anchor carries its own keys, so its body is read before its
  // signatures are checked; it is authenticated by its fingerprint.
  auto keyset = parse_keyset_body(decoded->env.payload);
  if (!keyset) return std::move(keyset).error();
  if (!meets_threshold(decoded->env, keyset->root)) {
    return reject_error(RejectReason::threshold,
                        "the trust anchor does not meet its own root threshold");
  }
  if (keyset->network != options.network) {
    return reject_error(RejectReason::wrong_network,
                        "the trust anchor is for network \"" + keyset->network + "\"");
  }
  if (keyset->version != 1) {
    return reject_error(RejectReason::invalid, "the trust anchor must be keyset version 1");
  }
  DirectiveState state;
  store(state, DocumentKind::keyset, envelope, decoded->env.payload, Body(std::move(*keyset)));
  return state;
}

Result<std::string> trust_anchor_fingerprint(std::string_view envelope,
                                             const EnvelopeLimits& limits) {
  auto decoded = decode(envelope, limits);
  if (!decoded) return std::move(decoded).error();
  if (decoded->kind != DocumentKind::keyset) {
    return reject_error(RejectReason::type_mismatch, "not a keyset envelope");
  }
  return crypto::to_hex(crypto::sha256(decoded->env.payload));
}

StoredEnvelopes envelopes_of(const DirectiveState& state) {
  StoredEnvelopes out;
  for (const auto& [version, ks] : state.keysets) {
    if (version == 1) {
      out.trust_anchor = ks.envelope;
    } else {
      out.keysets.push_back(ks.envelope);
    }
  }
  if (state.orders) out.orders = state.orders->envelope;
  if (state.heartbeat) out.heartbeat = state.heartbeat->envelope;
  if (state.behind_from && state.behind_from->envelope != out.heartbeat) out.behind_from = state.behind_from->envelope;
  return out;
}

Result<DirectiveState> verify_stored(const StoredEnvelopes& stored,
                                     const VerifierOptions& options) {
  auto state = install_trust_anchor(stored.trust_anchor, options);
  if (!state) return make_error(state.error().code, "trust anchor: " + state.error().message);
  for (const std::string& bytes : stored.keysets) {
    Verdict v = apply_at(*state, bytes, std::nullopt, options);
    if (v.decision != Outcome::accept || v.kind != DocumentKind::keyset) {
      const RejectReason r = v.rejected() ? v.reason : RejectReason::invalid;
      return reject_error(r, "stored keyset: " + (v.rejected() ? v.detail : "not a new version"));
    }
    state = std::move(*v.next);
  }
  if (stored.orders) {
    if (Status s = restore_document(*state, DocumentKind::orders, *stored.orders, options); !s) {
      return std::move(s).error();
    }
  }
  if (stored.heartbeat) {
    if (Status s = restore_document(*state, DocumentKind::heartbeat, *stored.heartbeat, options);
        !s) {
      return std::move(s).error();
    }
  }
  // The start of a stretch behind that is still going on: an earlier
  // heartbeat that verifies as well. One that does not, or is not earlier,
  // is ignored (the stretch then counts from the stored heartbeat).
  if (stored.behind_from && state->behind_from) {
    DirectiveState earlier = *state;
    if (restore_document(earlier, DocumentKind::heartbeat, *stored.behind_from, options) &&
        earlier.heartbeat->value.issued_at <= state->behind_from->value.issued_at) {
      state->behind_from = std::move(earlier.heartbeat);
    }
  }
  return state;
}

}  // namespace hiegate::policy
