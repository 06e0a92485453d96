#include "hiegate/daemon/mode_api.hpp"

#include <memory>
#include <nlohmann/json.hpp>

#include "hiegate/policy/directive_bodies.hpp"
#include "hiegate/policy/rfc3339.hpp"

namespace hiegate::daemon {

namespace {
nlohmann::json stops_json(const policy::OperatingMode& m) {
  nlohmann::json stops = nlohmann::json::array();
  for (const auto& s : m.orders.stopped_by) {
    nlohmann::json j = {{"id", s.order_id},
                        {"action", policy::name(s.action)},
                        {"reason", policy::name(s.reason)}};
    if (s.message) j["message"] = {{"ja", s.message->ja}, {"en", s.message->en}};
    stops.push_back(std::move(j));
  }
  return stops;
}
}  // namespace

nlohmann::json mode_json(const policy::OperatingMode& m) {
  nlohmann::json allowed = nlohmann::json::array();
  for (auto f : policy::kAllFunctions) {
    if (m.allows(f)) allowed.push_back(policy::name(f));
  }
  nlohmann::json j = {{"state", m.summary()},
                      {"allowed", allowed},
                      {"stopped_by", stops_json(m)},
                      {"suspended_users", m.orders.suspended_users},
                      {"suspended_facilities", m.orders.suspended_facilities},
                      {"disaster", m.orders.disaster},
                      {"failsafe", m.failsafe},
                      {"stale", m.freshness.stale},
                      {"behind", m.freshness.behind}};
  if (m.freshness.fallback) j["fallback"] = policy::name(*m.freshness.fallback);
  return j;
}

void add_mode_metrics(Metrics& metrics, std::function<policy::OperatingMode()> mode) {
  auto m = std::make_shared<std::function<policy::OperatingMode()>>(std::move(mode));
  metrics.add_family("hiegate_mode", "The operating mode in force (1 for the current state).", "gauge", [m] {
    const std::string_view now = (*m)().summary();
    std::vector<Metrics::Sample> out;
    for (const char* s : {"normal", "behind", "stale", "restricted", "stale_mode", "stopped", "failsafe"}) {
      out.push_back({Metrics::label("state", s), now == s ? 1.0 : 0.0});
    }
    return out;
  });
  metrics.add_family("hiegate_function_allowed", "Whether the mode in force allows each function.", "gauge", [m] {
    const auto cur = (*m)();
    std::vector<Metrics::Sample> out;
    for (auto f : policy::kAllFunctions) {
      out.push_back({Metrics::label("function", policy::name(f)), cur.allows(f) ? 1.0 : 0.0});
    }
    return out;
  });
  metrics.add_gauge("hiegate_stopping_orders", "Secretariat orders stopping this gateway now.",
                    [m] { return static_cast<double>((*m)().orders.stopped_by.size()); });
  metrics.add_gauge("hiegate_directives_stale", "1 when no unexpired heartbeat is held.",
                    [m] { return (*m)().freshness.stale ? 1.0 : 0.0; });
  metrics.add_gauge("hiegate_directives_behind", "1 when the heartbeat names newer orders than held.",
                    [m] { return (*m)().freshness.behind ? 1.0 : 0.0; });
  metrics.add_gauge("hiegate_directives_failsafe", "1 in failsafe mode (stored state missing or invalid).",
                    [m] { return (*m)().failsafe ? 1.0 : 0.0; });
}

std::optional<HttpResponse> refuse_by_mode(const policy::OperatingMode& m, policy::Function f) {
  if (m.allows(f)) return std::nullopt;
  if (m.orders.stopped()) {
    const auto& s = m.orders.stopped_by.front();
    nlohmann::json extra = {{"order", s.order_id}, {"reason", policy::name(s.reason)},
                            {"orders", stops_json(m)}};
    extra["localized"] = s.message ? nlohmann::json{{"ja", s.message->ja}, {"en", s.message->en}}
                                   : nlohmann::json{{"ja", "事務局の指示によりネットワークは停止中です"},
                                                    {"en", "The network is stopped by the secretariat"}};
    return error_response(http::status::service_unavailable, "network_stopped",
                          "stopped by the secretariat's order " + s.order_id, extra);
  }
  nlohmann::json extra = {{"function", policy::name(f)}, {"mode", m.summary()}};
  extra["localized"] = {{"ja", "事務局の指示により、この機能は現在利用できません"},
                        {"en", "This function is currently restricted by the secretariat"}};
  return error_response(http::status::forbidden, "function_restricted",
                        std::string("the function ") + std::string(policy::name(f)) +
                            " is not allowed in the current mode (" + std::string(m.summary()) + ")",
                        extra);
}

HttpResponse refusal(const policy::Decision& d, http::status status) {
  return error_response(status, d.code, d.message_en,
                        {{"rule", d.rule}, {"localized", {{"ja", d.message_ja}, {"en", d.message_en}}}});
}

}  // namespace hiegate::daemon
