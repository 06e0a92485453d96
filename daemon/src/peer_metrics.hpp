// Metrics of the peer transport: the peer API server's counters and the TLS
// credentials' expiry state, read when /metrics is rendered.
#pragma once

#include <functional>
#include <memory>
#include <optional>

#include "hiegate/daemon/metrics.hpp"
#include "hiegate/transport/credentials.hpp"
#include "hiegate/transport/peer_server.hpp"

namespace hiegate::daemon {

struct PeerMetricSources {
  /// The server's stats; nullopt while no peer server runs.
  std::function<std::optional<transport::PeerServerStats>()> server;
  /// The credentials snapshot in force (never null once registered).
  std::function<std::shared_ptr<const transport::Credentials>()> credentials;
  std::function<transport::SystemTime()> now;
};

/// Registers hiegate_peer_* and hiegate_tls_* families. The callbacks must be
/// thread-safe and outlive `m`'s rendering.
void add_peer_metrics(Metrics& m, PeerMetricSources src);

}  // namespace hiegate::daemon
