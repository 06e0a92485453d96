// The [tunnels] section: service tunnels (docs/tunnels.md). Part of the
// immutable Config snapshot; the TunnelManager applies it.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "hiegate/transport/tunnel.hpp"

namespace hiegate::daemon {

struct TunnelsConfig {
  /// The inbound tunnel port is opened only when there is a [[tunnels.in]].
  std::string listen_address = "::";
  std::uint16_t port = 8472;
  std::size_t max_per_peer = 32;
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds idle_timeout{300'000};
  std::chrono::milliseconds max_duration{0};  ///< 0 = unlimited
  std::vector<transport::OutboundTunnel> out;  ///< [[tunnels.out]]
  std::vector<transport::InboundService> in;   ///< [[tunnels.in]]

  /// The engine limits these settings describe.
  [[nodiscard]] transport::TunnelLimits limits() const;
  friend bool operator==(const TunnelsConfig&, const TunnelsConfig&) = default;
};

}  // namespace hiegate::daemon
