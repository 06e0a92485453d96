// The Network fixture: three real gateways on loopback with a dev PKI, and
// the steps a clinician's EHR takes (users, documents, consent), for the
// tests of clinical sharing across the network.
#pragma once

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "hiegate/crypto/encoding.hpp"
#include "integration/dev_network.hpp"

namespace hiegate::test {

using nlohmann::json;

inline constexpr const char* kC = "1300000003";  // another clinic

class Network : public DevNetwork {
protected:
  void SetUp() override {
    for (const char* f : {kA, kB, kC}) ports_[f] = free_port();
  }

  std::string net_config(const std::string& self, const std::string& extra_peers = "",
                         const std::string& policy = "") {
    return tls_and_peers(self, ports_, {}, "fetch_timeout = \"1500ms\"\n" + peer_api_extra_[self]) + extra_peers +
           "[store]\nconsent_evidence_max_age = \"0s\"\n" + policy;
  }

  /// `gw`'s whole configuration as `self` in this network.
  std::string config_for(const Gateway& gw, const std::string& self, const std::string& extra_peers = "",
                         const std::string& extra_store = "") {
    // The store section of the fixture is replaced by ours (with the same key).
    std::string text = gw.config_text("");
    const std::string net = net_config(self, extra_peers);
    const auto pos = text.find("[store]\n");
    text.insert(pos + 8, "consent_evidence_max_age = \"0s\"\n" + extra_store);
    return text + net.substr(0, net.find("[store]"));
  }

  std::unique_ptr<Gateway> make(const std::string& self, const std::string& extra_peers = "",
                                const std::string& extra_store = "") {
    auto gw = std::make_unique<Gateway>("", "", std::vector<std::string>{}, self);
    gw->write_config(config_for(*gw, self, extra_peers, extra_store));
    gw->start();
    return gw;
  }

  static void register_user(const Gateway& gw, const std::string& id, const std::string& role) {
    const auto r = gw.put_user(id, json{{"role", role}, {"department", "内科"}}.dump());
    ASSERT_EQ(r.status, 200) << r.body;
  }

  static void publish(const Gateway& gw, const std::string& id, const std::string& patient, const std::string& type,
                      const std::string& content = R"({"resourceType":"Bundle","type":"document"})") {
    const json body = {{"patient", patient},
                       {"type", type},
                       {"title", "退院時サマリー"},
                       {"created", "2026-11-20T10:00:00Z"},
                       {"content_type", "application/fhir+json"},
                       {"content_base64", crypto::to_base64(crypto::as_bytes(content))}};
    const auto r = gw.call("PUT", "/v1/documents/" + id, {{"X-HIE-User", "clerk-1"}}, body.dump());
    ASSERT_EQ(r.status, 200) << r.body;
  }

  static void consent(const Gateway& gw, const std::string& patient, const std::string& signed_on,
                      const json& scope = "*") {
    const auto r = gw.call("PUT", "/v1/consents/" + patient, {{"X-HIE-User", "clerk-1"}},
                           json{{"signed_on", signed_on}, {"scope", scope}, {"form_ref", "paper-0001"}}.dump());
    ASSERT_EQ(r.status, 200) << r.body;
  }

  static std::map<std::string, std::string> as(const std::string& user, const std::string& purpose = "treatment",
                                               const std::string& reason = "") {
    std::map<std::string, std::string> h = {{"X-HIE-User", user}, {"X-HIE-Purpose", purpose}};
    if (!reason.empty()) h["X-HIE-Emergency-Reason"] = reason;
    return h;
  }

  /// dr-sato at `a`; document b-1 of `patient`, with consent, at `b`. The
  /// path A's EHR fetches it by.
  static std::string share_one(const Gateway& a, const Gateway& b, const std::string& patient) {
    register_user(a, "dr-sato", "physician");
    register_user(b, "clerk-1", "clerk");
    publish(b, "b-1", patient, "summary");
    consent(b, patient, "2025-04-01");
    return std::string("/v1/facilities/") + kB + "/documents/b-1";
  }

  static json facility_entry(const json& list, const std::string& code) {
    for (const auto& f : list["facilities"]) {
      if (f["facility"] == code) return f;
    }
    return {};
  }

  std::map<std::string, std::uint16_t> ports_;
  std::map<std::string, std::string> peer_api_extra_;  ///< [peer_api] lines by facility
};

}  // namespace hiegate::test
