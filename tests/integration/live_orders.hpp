// Signed secretariat documents issued "now" (the daemons use the real clock)
// with the DirectiveKit's deterministic keys, and delivery to real gateways
// with `hiegate-secretariat push` over a dev PKI.
#pragma once

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "integration/dev_network.hpp"
#include "policy/directive_kit.hpp"
#include "support/process.hpp"

namespace hiegate::test {

struct LiveOrders {
  policy::testing::DirectiveKit kit;
  std::string issued;
  std::string expires;

  LiveOrders() {
    const auto now = std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
    issued = policy::format_rfc3339(now - std::chrono::minutes(1));
    expires = policy::format_rfc3339(now + std::chrono::hours(23));
  }

  /// The orders envelope of `sequence` and a heartbeat naming it.
  [[nodiscard]] std::pair<std::string, std::string> signed_set(std::uint64_t sequence,
                                                               const nlohmann::json& orders) const {
    const std::string body = policy::testing::DirectiveKit::orders_body(sequence, orders, 1, issued);
    return {kit.signed_orders(body),
            kit.signed_heartbeat(policy::testing::DirectiveKit::heartbeat_body(sequence, sequence, body, issued,
                                                                               expires))};
  }
  /// Both as the JSON array `POST /v1/directives` takes.
  [[nodiscard]] std::string delivery(std::uint64_t sequence, const nlohmann::json& orders) const {
    const auto [o, h] = signed_set(sequence, orders);
    return "[" + o + "," + h + "]";
  }

  static nlohmann::json stop(const std::string& id, const nlohmann::json& audience) {
    return {{"id", id},
            {"action", "stop"},
            {"audience", audience},
            {"reason", "maintenance"},
            {"message", {{"ja", "定期保守のため停止します"}, {"en", "Stopped for scheduled maintenance"}}}};
  }
};

/// A DevNetwork whose gateways hold the LiveOrders keyset as their anchor.
class DirectiveNetwork : public DevNetwork {
protected:
  void SetUp() override { anchor_ = keys_.write("keyset.json", orders_.kit.keyset(1)); }

  [[nodiscard]] std::string directives_section() const {
    return "[directives]\nkeyset = \"" + anchor_.string() + "\"\n";
  }

  /// A started gateway for `self` on `ports` with the anchor; `peer_api_extra`
  /// goes into [peer_api], `store_extra` into [store].
  std::unique_ptr<Gateway> make(const std::string& self, const std::map<std::string, std::uint16_t>& ports,
                                const std::string& peer_api_extra = "", const std::string& store_extra = "") const {
    auto gw = std::make_unique<Gateway>("", "", std::vector<std::string>{}, self);
    std::string text = gw->config_text("");
    text.insert(text.find("[store]\n") + 8, store_extra);
    gw->write_config(text + tls_and_peers(self, ports, {}, peer_api_extra) + directives_section());
    gw->start();
    return gw;
  }

  /// `hiegate-secretariat push --to all` of `envelopes` to `peers` (facility
  /// -> peer port) with the dev secretariat certificate.
  RunResult push(const std::map<std::string, std::uint16_t>& peers, const std::vector<std::string>& envelopes) {
    std::string toml = "network = \"nishitama\"\n";
    for (const auto& [f, port] : peers) {
      toml += "[[peer]]\nfacility = \"" + f + "\"\nhost = \"127.0.0.1\"\nport = " + std::to_string(port) + "\n";
    }
    std::vector<std::string> argv = {binary("hiegate-secretariat").string(), "push", "--to", "all",
                                     "--peers", keys_.write("peers.toml", toml).string(),
                                     "--cert", (pki_->path() / "pki" / "secretariat").string(),
                                     "--timeout", "10s"};
    for (std::size_t i = 0; i < envelopes.size(); ++i) {
      argv.insert(argv.end(), {"--envelope", keys_.write("env-" + std::to_string(i) + ".json", envelopes[i]).string()});
    }
    return run(argv);
  }

  TempDir keys_;
  LiveOrders orders_;
  std::filesystem::path anchor_;
};

}  // namespace hiegate::test
