// The operating mode as the local API shows it: in status, and in every
// refusal caused by a secretariat order (with the order's id, reason and
// bilingual message, so the EHR can tell the clinician why).
#pragma once

#include <functional>
#include <nlohmann/json_fwd.hpp>
#include <optional>

#include "hiegate/daemon/http.hpp"
#include "hiegate/daemon/metrics.hpp"
#include "hiegate/policy/decision.hpp"
#include "hiegate/policy/operating_mode.hpp"

namespace hiegate::daemon {

/// {"state":…, "allowed":[…], "stopped_by":[…], "suspended_users":[…], …}
[[nodiscard]] nlohmann::json mode_json(const policy::OperatingMode& m);

/// Registers the mode's gauges: hiegate_mode{state} (1 for the state in
/// force, 0 for the others), hiegate_function_allowed{function},
/// hiegate_stopping_orders, hiegate_directives_stale,
/// hiegate_directives_behind, hiegate_directives_failsafe. `mode` must be
/// thread-safe and outlive `metrics`' rendering.
void add_mode_metrics(Metrics& metrics, std::function<policy::OperatingMode()> mode);

/// nullopt when `f` is allowed; otherwise the response to send: 503
/// `network_stopped` with the stopping orders, or 403 `function_restricted`.
[[nodiscard]] std::optional<HttpResponse> refuse_by_mode(const policy::OperatingMode& m,
                                                          policy::Function f);

/// The JSON error for a refused policy decision: 403 with code, rule and the
/// bilingual message {"ja","en"}.
[[nodiscard]] HttpResponse refusal(const policy::Decision& d, http::status status = http::status::forbidden);

}  // namespace hiegate::daemon
