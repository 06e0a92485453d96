// The secretariat's documents as JSON: the bodies of shared/spec/directives.md
// written back from their parsed form (the secretariat's tool signs these;
// the gateway shows what it holds with them). Members appear whenever set.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include "hiegate/policy/directive_bodies.hpp"

namespace hiegate::policy {

[[nodiscard]] nlohmann::json keyset_json(const Keyset& k);
[[nodiscard]] nlohmann::json order_json(const Order& o);
[[nodiscard]] nlohmann::json orders_json(const OrderSet& s);
[[nodiscard]] nlohmann::json heartbeat_json(const Heartbeat& h);

}  // namespace hiegate::policy
