// Service tunnels: facilities' existing TCP protocols (HL7 v2 over MLLP,
// DICOM, ...) carried between gateways over mutual TLS. See docs/tunnels.md
// for the wire protocol and the design choices.
//
// An outbound tunnel listens on a local address (loopback or a Unix socket);
// each local connection becomes one TLS connection to the target facility's
// tunnel port, naming a service. The inbound side checks the caller's
// certificate identity against the service's allow-list, connects to the
// local backend and relays bytes both ways (framed, so half-close survives
// TLS 1.2), with backpressure: one buffer per direction, never more.
//
// No daemon dependencies: the mode check, audit and peer directory come in as
// callbacks (TunnelHooks). Fail closed: an empty `permitted` refuses all.
#pragma once

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hiegate/common/result.hpp"
#include "hiegate/transport/credentials.hpp"
#include "hiegate/transport/tls.hpp"

namespace hiegate::transport {

/// A local stream address: "127.0.0.1:2575", "[::1]:2575" (literal IPs only)
/// or "unix:/run/hiegate/mllp.sock".
struct LocalEndpoint {
  enum class Kind { tcp, unix_socket };
  Kind kind = Kind::tcp;
  std::string host;  ///< literal IP, no brackets (tcp)
  std::uint16_t port = 0;
  std::string path;  ///< (unix_socket)
  [[nodiscard]] std::string to_string() const;
  [[nodiscard]] bool is_loopback() const;  ///< unix sockets count as local
  friend bool operator==(const LocalEndpoint&, const LocalEndpoint&) = default;
};
/// Errors: bad_address.
[[nodiscard]] Result<LocalEndpoint> parse_local_endpoint(std::string_view text);
/// True for a service name: [a-z0-9][a-z0-9._-]{0,63}.
[[nodiscard]] bool is_service_name(std::string_view name) noexcept;

enum class TunnelDirection { outbound, inbound };

/// `[[tunnels.out]]`: local clients here reach `service` at `facility`.
struct OutboundTunnel {
  std::string name;
  LocalEndpoint listen;
  std::string facility;  ///< target facility code
  std::string service;
  std::size_t max_connections = 64;
  std::uint64_t bandwidth_bytes_per_sec = 0;  ///< 0 = unlimited; shared by the tunnel's connections
  friend bool operator==(const OutboundTunnel&, const OutboundTunnel&) = default;
};

/// `[[tunnels.in]]`: the local backend offered to the listed facilities.
struct InboundService {
  std::string service;
  LocalEndpoint backend;
  std::vector<std::string> allow;  ///< facility codes, or exactly {"*"}
  std::size_t max_connections = 64;
  std::uint64_t bandwidth_bytes_per_sec = 0;
  bool proxy_protocol = false;  ///< send a PROXY v2 header (with the caller's facility TLV) to the backend
  friend bool operator==(const InboundService&, const InboundService&) = default;
};

struct TunnelLimits {
  std::uint16_t port = 8472;  ///< inbound tunnel port; 0 = any (tests)
  std::string address = "::";
  bool listen = true;  ///< false: outbound only (no tunnel port)
  std::size_t max_per_peer = 32;  ///< open connections per remote facility, each direction
  std::chrono::milliseconds connect_timeout{10'000};  ///< TCP + TLS + service line
  std::chrono::milliseconds idle_timeout{300'000};    ///< no byte either way
  std::chrono::milliseconds max_duration{0};          ///< 0 = unlimited
  friend bool operator==(const TunnelLimits&, const TunnelLimits&) = default;
};

/// One audit record per tunnel connection (also for refused ones).
struct TunnelRecord {
  TunnelDirection direction = TunnelDirection::outbound;
  std::string tunnel;    ///< outbound tunnel name, or inbound service name
  std::string service;
  std::string facility;  ///< the other side: target (outbound) or caller (inbound); "" if unknown
  SystemTime started{};
  std::chrono::milliseconds duration{0};
  std::uint64_t bytes_to_peer = 0;    ///< local side → remote gateway
  std::uint64_t bytes_from_peer = 0;  ///< remote gateway → local side
  /// How it ended (stable): closed, refused_mode, forbidden, unknown_service,
  /// over_capacity, backend_unavailable, peer_unavailable, handshake_failed,
  /// refused_by_peer, protocol_error, aborted_local, aborted_peer,
  /// idle_timeout, max_duration, mode_cut, facility_suspended,
  /// audit_unavailable, removed, stopped.
  std::string ended;
  std::string detail;  ///< human-readable; never payload bytes
};

struct TunnelHooks {
  /// May traffic flow in this direction now? Outbound needs `view`, inbound
  /// `serve`. Called on every new connection and by recheck(). Thread-safe,
  /// quick. Empty = nothing is permitted (fail closed).
  std::function<bool(TunnelDirection)> permitted;
  /// May traffic flow with this facility now (not suspended by an order)?
  /// Called on every new connection, once its facility is known, and by
  /// recheck(). Thread-safe, quick. Empty = every facility.
  std::function<bool(const std::string& facility)> facility_permitted;
  /// Called once per connection when it ends. Any thread; must be thread-safe.
  std::function<void(const TunnelRecord&)> audit;
  /// Called once a connection is admitted and before any byte flows
  /// (outbound: before the remote gateway is dialled; inbound: before the
  /// backend is connected), with `ended` "opened". The connection goes on
  /// only after done(true): the access is recorded before it happens;
  /// done(false) ends it as "audit_unavailable" (fail closed). `done` may
  /// run on any thread. Empty: goes on at once.
  std::function<void(const TunnelRecord& opening, std::function<void(bool recorded)> done)> opened;
  /// The peer directory: facility → "host:port" of its tunnel listener.
  std::function<std::optional<std::string>(const std::string& facility)> resolve;
  /// Wall clock for audit timestamps; system clock if empty.
  std::function<SystemTime()> clock;
};

struct TunnelCounters {
  TunnelDirection direction = TunnelDirection::outbound;
  std::string name;
  std::uint64_t active = 0;
  std::uint64_t accepted = 0;  ///< connections that carried traffic
  std::uint64_t refused = 0;
  std::uint64_t bytes_to_peer = 0;
  std::uint64_t bytes_from_peer = 0;
};

struct TunnelStats {
  std::vector<TunnelCounters> tunnels;  ///< sorted: outbound by name, then inbound by service
  std::uint64_t handshake_failures = 0;  ///< inbound TLS handshakes that failed
  std::uint64_t unknown_service = 0;     ///< inbound requests for services we do not offer
};

/// Thread-safe; runs on an io_context with any number of threads. Every
/// connection lives on its own strand.
class TunnelEngine {
public:
  TunnelEngine(boost::asio::io_context& ioc, std::shared_ptr<TlsContext> tls, TunnelHooks hooks);
  ~TunnelEngine();  ///< stop()s
  TunnelEngine(const TunnelEngine&) = delete;
  TunnelEngine& operator=(const TunnelEngine&) = delete;

  /// Opens the tunnel port (if limits.listen). Call once, before the rest.
  /// Errors: bind_failed, bad_address.
  [[nodiscard]] Status start(TunnelLimits limits);
  /// Reconciles the outbound tunnels: unchanged ones (same name, equal
  /// settings) are untouched; removed or changed ones close their listener
  /// and their open connections (ended "removed"); new ones bind. All
  /// listeners are bound before anything changes: on a bind error nothing
  /// changes and the error is returned. Errors: bind_failed, bad_config.
  [[nodiscard]] Status set_outbound(std::vector<OutboundTunnel> tunnels);
  /// Reconciles the inbound services likewise (no binding; never fails on
  /// valid input). Errors: bad_config.
  [[nodiscard]] Status set_inbound(std::vector<InboundService> services);
  /// Re-checks hooks.permitted and hooks.facility_permitted now: connections
  /// of a direction no longer permitted are aborted at once (ended
  /// "mode_cut"), those with a facility no longer permitted too (ended
  /// "facility_suspended"); the abort is posted to each connection's strand,
  /// so it lands within milliseconds.
  void recheck();
  /// Closes every listener and connection (ended "stopped").
  void stop();

  /// The bound inbound port (after start).
  [[nodiscard]] std::uint16_t port() const;
  /// The bound address of outbound tunnel `name` (port resolved when 0).
  [[nodiscard]] std::optional<LocalEndpoint> outbound_endpoint(const std::string& name) const;
  [[nodiscard]] TunnelStats stats() const;

  struct Impl;

private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace hiegate::transport
