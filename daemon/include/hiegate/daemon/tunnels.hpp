// Applies the [tunnels] configuration to a transport::TunnelEngine under the
// operating mode: outbound tunnels need `view`, inbound ones `serve`.
//
// Thread-safety: all methods may be called from any thread; start/apply/stop
// are serialised internally. The mode is re-checked when mode_changed() is
// called and every 500 ms anyway (a mode can lapse with time alone, e.g. an
// order's freshness), so a revoked function cuts tunnels within a second.
#pragma once

#include <boost/asio/io_context.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "hiegate/common/result.hpp"
#include "hiegate/daemon/tunnels_config.hpp"
#include "hiegate/policy/functions.hpp"
#include "hiegate/transport/tunnel.hpp"

namespace hiegate::daemon {

struct TunnelManagerHooks {
  /// The functions the current mode allows. Thread-safe, quick. Empty: none.
  std::function<policy::FunctionSet()> functions;
  /// One record per tunnel connection (refusals included); any thread.
  std::function<void(const transport::TunnelRecord&)> audit;
  /// The peer directory: facility code → "host:port" of its tunnel port.
  std::function<std::optional<std::string>(const std::string& facility)> resolve;
  /// False for a facility whose traffic is stopped (suspended by an order).
  /// Thread-safe, quick. Empty: every facility.
  std::function<bool(const std::string& facility)> facility_permitted;
  /// The record of a connection about to carry traffic; done(true) once it
  /// is durable (transport::TunnelHooks::opened). Empty: none.
  std::function<void(const transport::TunnelRecord&, std::function<void(bool)>)> opened;
};

class TunnelManager {
public:
  TunnelManager(boost::asio::io_context& ioc, std::shared_ptr<transport::TlsContext> tls, TunnelManagerHooks hooks);
  ~TunnelManager();
  TunnelManager(const TunnelManager&) = delete;
  TunnelManager& operator=(const TunnelManager&) = delete;

  /// Applies `cfg`: the first call opens the tunnel port (if any service is
  /// offered) and the listeners. Later calls reconcile: tunnels that did not
  /// change keep their open connections; changed or removed ones close
  /// theirs. A change of the [tunnels] settings themselves (port, address,
  /// timeouts, max_per_peer, or offering services for the first/last time)
  /// rebuilds the engine, closing every tunnel connection. On error nothing
  /// changes and the old tunnels keep running.
  [[nodiscard]] Status apply(const TunnelsConfig& cfg);
  /// The mode may have changed: cut what it no longer permits, now.
  void mode_changed();
  /// Closes every tunnel; apply() may start again.
  void stop();

  [[nodiscard]] transport::TunnelStats stats() const;
  /// The bound inbound port (0 if none).
  [[nodiscard]] std::uint16_t port() const;
  /// The bound address of outbound tunnel `name`.
  [[nodiscard]] std::optional<transport::LocalEndpoint> outbound_endpoint(const std::string& name) const;

  struct Impl;

private:
  std::shared_ptr<Impl> impl_;
};

struct AuditRecord;
/// The audit record of a tunnel connection opening ("opened") or ending.
[[nodiscard]] AuditRecord tunnel_audit_record(const transport::TunnelRecord& r);

}  // namespace hiegate::daemon
