// System routes of the local API: health, status, metrics.
#pragma once

#include <chrono>
#include <functional>
#include <nlohmann/json_fwd.hpp>
#include <string>

#include "hiegate/daemon/config.hpp"
#include "hiegate/daemon/http.hpp"
#include "hiegate/daemon/metrics.hpp"

namespace hiegate::daemon {

struct SystemContext {
  std::function<ConfigPtr()> config;
  Metrics& metrics;
  std::function<void(nlohmann::json&)> fill_status;  ///< thread-safe
  /// POST /v1/store/rekey: adopts the key files on disk and starts a rekey.
  std::function<void(Responder)> start_rekey;
};

void add_system_routes(Router& router, SystemContext ctx);

/// RFC 3339 UTC with whole seconds: "2026-11-21T09:00:00Z".
[[nodiscard]] std::string format_utc(std::chrono::system_clock::time_point t);

}  // namespace hiegate::daemon
