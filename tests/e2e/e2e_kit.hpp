// Helpers of the end-to-end scenarios: a dev PKI of N facilities made by the
// secretariat tool, gateways joined to it on loopback, and orders signed with
// the test keys (policy::testing::DirectiveKit) and delivered through the
// local API. Real binaries throughout; time is the system clock, so waits
// are bounded polls.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "hiegate/crypto/encoding.hpp"
#include "hiegate/policy/rfc3339.hpp"
#include "integration/gateway.hpp"
#include "policy/directive_kit.hpp"

namespace hiegate::test::e2e {

/// The synthetic patient of the end-to-end scenarios.
inline constexpr const char* kPatient = "NT-0001";

using nlohmann::json;
using Seconds = std::chrono::sys_seconds;

/// The i-th facility code of `pki dev-network` (1300000001, 1300000002, ...).
inline std::string facility(int i) {
  char b[16];
  std::snprintf(b, sizeof b, "13%08d", i);
  return b;
}

inline Seconds now_s() { return std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now()); }
inline std::string rfc3339(Seconds t) { return policy::format_rfc3339(t); }

/// A dev PKI of `n` facilities and the secretariat (pki/ca, pki/ca.crt,
/// pki/crl.pem, pki/secretariat, pki/facilities/<code>), removed with the object.
class Pki {
public:
  explicit Pki(int n) {
    const auto r = run({binary("hiegate-secretariat").string(), "pki", "dev-network", "--facilities",
                        std::to_string(n), "--network", "nishitama", "--out", dir().string()});
    EXPECT_EQ(r.status, 0) << r.output;
  }
  [[nodiscard]] std::filesystem::path dir() const { return tmp_.path() / "pki"; }

  /// [tls] and [peer_api] for `self` listening on `port`, then a [[peers]]
  /// entry for each of `peers` (facility → peer port).
  [[nodiscard]] std::string net_config(const std::string& self, std::uint16_t port,
                                       const std::map<std::string, std::uint16_t>& peers = {}) const {
    const auto d = dir();
    std::string t = "[tls]\ncert = \"" + (d / "facilities" / self / "cert.pem").string() + "\"\nkey = \"" +
                    (d / "facilities" / self / "key.pem").string() + "\"\nca = \"" + (d / "ca.crt").string() +
                    "\"\ncrl = \"" + (d / "crl.pem").string() + "\"\nhandshake_timeout = \"2s\"\n" +
                    "[peer_api]\naddress = \"127.0.0.1\"\nport = " + std::to_string(port) +
                    "\nfetch_timeout = \"10s\"\n";
    for (const auto& [code, p] : peers) {
      if (code == self) continue;
      t += "[[peers]]\nfacility = \"" + code + "\"\nhost = \"127.0.0.1\"\nport = " + std::to_string(p) + "\n";
    }
    return t;
  }

private:
  TempDir tmp_;
};

/// The secretariat's side of the directives: the keyset anchor file gateways
/// are configured with, and signed orders + heartbeat deliveries.
class Secretariat {
public:
  Secretariat() : anchor_(dir_.write("keyset.json", kit_.keyset(1))) {}

  /// The [directives] section naming the anchor.
  [[nodiscard]] std::string config() const { return "[directives]\nkeyset = \"" + anchor_.string() + "\"\n"; }

  /// The body of orders set `sequence` holding `orders`.
  static std::string orders_body(std::uint64_t sequence, const json& orders) {
    return policy::testing::DirectiveKit::orders_body(sequence, orders, 1, rfc3339(now_s() - std::chrono::minutes(1)));
  }
  /// The signed orders envelope for `body`.
  [[nodiscard]] std::string signed_orders(const std::string& body) const { return kit_.signed_orders(body); }
  /// A heartbeat `sequence` naming orders set `orders_sequence` (`body`), valid a day.
  [[nodiscard]] std::string signed_heartbeat(std::uint64_t sequence, std::uint64_t orders_sequence,
                                             const std::string& body) const {
    const auto t = now_s();
    return kit_.signed_heartbeat(policy::testing::DirectiveKit::heartbeat_body(
        sequence, orders_sequence, body, rfc3339(t - std::chrono::minutes(1)), rfc3339(t + std::chrono::hours(23))));
  }
  /// Orders set `sequence` with its heartbeat, as one delivery (a JSON array).
  [[nodiscard]] std::string delivery(std::uint64_t sequence, const json& orders) const {
    const std::string body = orders_body(sequence, orders);
    return "[" + signed_orders(body) + "," + signed_heartbeat(sequence, sequence, body) + "]";
  }
  /// POST /v1/directives at `gw` (the local delivery path); expects 200.
  void deliver(const Gateway& gw, std::uint64_t sequence, const json& orders) const {
    const auto r = gw.call("POST", "/v1/directives", {}, delivery(sequence, orders));
    ASSERT_EQ(r.status, 200) << r.body;
  }

private:
  TempDir dir_;
  policy::testing::DirectiveKit kit_;
  std::filesystem::path anchor_;
};

/// A stop order for `audience` ("*" or a list of codes).
inline json stop_order(const std::string& id, const json& audience, const std::string& reason = "maintenance") {
  return {{"id", id}, {"action", "stop"}, {"audience", audience}, {"reason", reason},
          {"message", {{"ja", "定期保守のため停止します"}, {"en", "Stopped for scheduled maintenance"}}}};
}

/// GET /v1/status → mode.state ("normal", "stopped", "failsafe", ...).
inline std::string mode_state(const Gateway& gw) {
  const auto r = gw.get("/v1/status");
  const auto j = json::parse(r.body, nullptr, false);
  if (!j.is_object() || !j.contains("mode")) return "status " + std::to_string(r.status);
  return j["mode"].value("state", "?");
}

inline std::string error_code(const HttpResult& r) {
  const auto j = json::parse(r.body, nullptr, false);
  return j.is_object() && j.contains("error") ? j["error"].value("code", "") : "";
}

inline void add_user(const Gateway& gw, const std::string& id, const std::string& role) {
  const auto r = gw.put_user(id, json{{"role", role}, {"department", "内科"}}.dump());
  ASSERT_EQ(r.status, 200) << r.body;
}

/// PUT /v1/documents/{id} as clerk-1: the HTTP result (not asserted: callers
/// count what was acknowledged).
inline HttpResult publish(const Gateway& gw, const std::string& id, const std::string& patient,
                          const std::string& content, const std::string& type = "application/fhir+json") {
  const json body = {{"patient", patient},        {"type", "summary"},     {"title", "退院時サマリー"},
                     {"created", "2026-11-20T10:00:00Z"}, {"content_type", type},
                     {"content_base64", crypto::to_base64(crypto::as_bytes(content))}};
  return gw.call("PUT", "/v1/documents/" + id, {{"X-HIE-User", "clerk-1"}}, body.dump());
}

inline void consent(const Gateway& gw, const std::string& patient) {
  const auto r = gw.call("PUT", "/v1/consents/" + patient, {{"X-HIE-User", "clerk-1"}},
                         json{{"signed_on", "2026-04-01"}, {"scope", "*"}, {"form_ref", "paper-0001"}}.dump());
  ASSERT_EQ(r.status, 200) << r.body;
}

/// GET /v1/facilities/{code}/documents/{id} as a physician, for treatment.
inline HttpResult fetch(const Gateway& gw, const std::string& code, const std::string& id,
                        const std::string& user = "dr-sato") {
  return gw.call("GET", "/v1/facilities/" + code + "/documents/" + id,
                 {{"X-HIE-User", user}, {"X-HIE-Purpose", "treatment"}});
}

/// A gateway for `code` joined to `pki` on `port` with `peers`, taking orders
/// from `sec`; `extra` is more TOML. Not started.
inline std::unique_ptr<Gateway> make_gateway(const Pki& pki, const Secretariat& sec, const std::string& code,
                                             std::uint16_t port, const std::map<std::string, std::uint16_t>& peers,
                                             const std::string& extra = "") {
  return std::make_unique<Gateway>("", pki.net_config(code, port, peers) + sec.config() + extra,
                                   std::vector<std::string>{}, code);
}

}  // namespace hiegate::test::e2e
