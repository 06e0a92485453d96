// Test helper: deterministic secretariat keys and signed directive envelopes,
// for tests that need documents the conformance vectors do not have.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "hiegate/crypto/encoding.hpp"
#include "hiegate/crypto/sign.hpp"
#include "hiegate/policy/directive_bodies.hpp"
#include "hiegate/policy/dsse.hpp"

namespace hiegate::policy::testing {

inline crypto::Ed25519KeyPair test_key(std::uint8_t n) {
  return std::move(crypto::ed25519_from_seed(crypto::Bytes(32, n)).value());
}

inline std::string b64(const crypto::Ed25519PublicKey& k) { return crypto::to_base64(k); }

/// Keys 1-3 root, 11-13 orders, 21 heartbeat; a second generation adds 100.
struct DirectiveKit {
  std::string network = "nishitama";
  std::vector<crypto::Ed25519KeyPair> root, orders, heartbeat;

  explicit DirectiveKit(std::uint8_t generation = 0) {
    for (std::uint8_t i = 1; i <= 3; ++i)
      root.push_back(test_key(static_cast<std::uint8_t>(generation + i)));
    for (std::uint8_t i = 11; i <= 13; ++i)
      orders.push_back(test_key(static_cast<std::uint8_t>(generation + i)));
    heartbeat.push_back(test_key(static_cast<std::uint8_t>(generation + 21)));
  }

  static nlohmann::json role_json(const std::vector<crypto::Ed25519KeyPair>& keys,
                                  unsigned threshold) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& k : keys) list.push_back(b64(k.public_key));
    return {{"keys", list}, {"threshold", threshold}};
  }

  std::string keyset_body(std::uint64_t version,
                          const std::string& issued_at = "2026-11-21T08:00:00Z") const {
    return nlohmann::json{{"type", "keyset"},
                          {"network", network},
                          {"version", version},
                          {"issued_at", issued_at},
                          {"roles",
                           {{"root", role_json(root, 2)},
                            {"orders", role_json(orders, 2)},
                            {"heartbeat", role_json(heartbeat, 1)}}}}
        .dump();
  }

  static std::string orders_body(std::uint64_t sequence, const nlohmann::json& list,
                                 std::uint64_t keyset_version = 1,
                                 const std::string& issued_at = "2026-11-21T09:00:00Z",
                                 const std::string& net = "nishitama") {
    return nlohmann::json{
        {"type", "orders"},     {"network", net},         {"keyset_version", keyset_version},
        {"sequence", sequence}, {"issued_at", issued_at}, {"orders", list}}
        .dump();
  }

  static std::string heartbeat_body(std::uint64_t sequence, std::uint64_t orders_sequence,
                                    const std::string& orders_body_bytes,
                                    const std::string& issued_at = "2026-11-21T09:00:00Z",
                                    const std::string& expires_at = "2026-11-22T09:00:00Z",
                                    std::uint64_t keyset_version = 1) {
    return nlohmann::json{{"type", "heartbeat"},
                          {"network", "nishitama"},
                          {"keyset_version", keyset_version},
                          {"sequence", sequence},
                          {"issued_at", issued_at},
                          {"expires_at", expires_at},
                          {"orders_sequence", orders_sequence},
                          {"orders_digest", crypto::to_hex(crypto::sha256(orders_body_bytes))}}
        .dump();
  }

  static std::string sign(DocumentKind kind, const std::string& body,
                          const std::vector<const crypto::Ed25519KeyPair*>& signers) {
    Envelope env{std::string(payload_type(kind)), body, {}};
    const std::string message = pae(env.payload_type, body);
    for (const auto* k : signers) {
      const auto sig = crypto::ed25519_sign(k->secret_key, crypto::as_bytes(message));
      env.signatures.push_back({keyid_of(k->public_key), crypto::Bytes(sig.begin(), sig.end())});
    }
    return encode_envelope(env);
  }

  std::string keyset(std::uint64_t version) const {
    return sign(DocumentKind::keyset, keyset_body(version), {&root[0], &root[1]});
  }
  std::string signed_orders(const std::string& body) const {
    return sign(DocumentKind::orders, body, {&orders[0], &orders[1]});
  }
  std::string signed_heartbeat(const std::string& body) const {
    return sign(DocumentKind::heartbeat, body, {&heartbeat[0]});
  }
};

}  // namespace hiegate::policy::testing
