// The peer HTTPS server (HTTP/1.1 over mutual TLS, default port 8471).
// Every connection gets its own strand and its credentials snapshot at
// accept time; handlers receive the typed PeerIdentity of the caller.
#pragma once

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "hiegate/common/result.hpp"
#include "hiegate/transport/peer_http.hpp"
#include "hiegate/transport/tls.hpp"

namespace hiegate::transport {

struct PeerServerOptions {
  std::string address = "::";
  std::uint16_t port = 8471;  ///< 0: any free port (tests)
  std::size_t max_connections = 256;
  std::size_t max_header_bytes = 16 * 1024;
  std::size_t max_body_bytes = 8 * 1024 * 1024;
  std::chrono::milliseconds handshake_timeout{10'000};
  std::chrono::milliseconds request_timeout{30'000};  ///< reading one request, handling, writing
  std::chrono::milliseconds idle_timeout{60'000};     ///< keep-alive wait for the next request
  /// Fair shares, so that one facility (or one address) cannot starve the
  /// others; 0 turns a limit off. The secretariat is never held to the
  /// per-facility limits: its orders must get through.
  /// Connections one facility may hold open at once. The first request on a
  /// connection beyond it is answered 503 too_many_connections, and the
  /// connection closed.
  std::size_t max_connections_per_facility = 64;
  /// TLS handshakes in progress from one IP address at once: connections
  /// that never finish their handshake cannot fill the server from one
  /// address. Beyond it a new connection is closed at once.
  std::size_t max_handshakes_per_address = 64;
  /// Requests per second one facility may make, over all its connections (a
  /// token bucket holding `facility_request_burst` requests). Beyond it:
  /// 429 rate_limited with Retry-After; the connection stays open.
  double facility_requests_per_second = 0;
  double facility_request_burst = 0;
  /// Called for every refused or failed handshake with the remote address and
  /// the reason (for logs and the audit trail). Runs on the connection's
  /// strand, possibly concurrently for several connections: must be
  /// thread-safe and quick. May be empty.
  std::function<void(const std::string& remote, const Error& why)> on_handshake_failure;
  /// Called when a request is handed to its route, with `cut`, which aborts
  /// the connection (callable from any thread, at any time). The returned
  /// handle (may be null) is held until the response is written or the
  /// connection ends. Must be thread-safe. May be empty.
  std::function<std::shared_ptr<void>(const PeerRequest&, std::function<void()> cut)> track_request;
};

/// Counters since start (monotonic) and the open connections now.
struct PeerServerStats {
  std::uint64_t accepted = 0;
  std::uint64_t open = 0;  ///< connections open now (handshaking, serving or idle)
  std::uint64_t handshake_failures = 0;
  /// Handshake failures by stable reason code (TlsStream::last_error().code,
  /// e.g. certificate_revoked, timeout); the values add up to handshake_failures.
  std::map<std::string, std::uint64_t> handshake_failures_by_reason;
  std::uint64_t over_capacity = 0;
  std::uint64_t over_facility_limit = 0;  ///< connections refused by max_connections_per_facility
  std::uint64_t over_address_limit = 0;   ///< connections refused by max_handshakes_per_address
  std::uint64_t rate_limited = 0;         ///< requests answered 429
  std::uint64_t requests = 0;
  std::uint64_t forbidden = 0;
  std::uint64_t bytes_received = 0;  ///< HTTP bytes read (headers + bodies, after decryption)
  std::uint64_t bytes_sent = 0;      ///< HTTP bytes written (before encryption)
};

/// Thread-safe; may run on an io_context with several threads.
/// GET /peer/v1/health (any caller) is built in unless a route overrides it.
class PeerServer {
public:
  PeerServer(boost::asio::io_context& ioc, std::shared_ptr<TlsContext> tls, PeerServerOptions opts,
             std::vector<PeerRoute> routes);
  ~PeerServer();
  PeerServer(const PeerServer&) = delete;
  PeerServer& operator=(const PeerServer&) = delete;

  /// Binds and starts accepting. Errors: bind_failed, bad_address.
  [[nodiscard]] Status start();
  /// Stops accepting and aborts open connections.
  void stop();
  /// Graceful end (SIGTERM): stops accepting, closes idle connections now and
  /// each busy one once its request is answered; `done` runs, on an io
  /// thread, when no connection is left. stop() still aborts what remains.
  void drain(std::function<void()> done);
  /// After a credentials reload (a new CRL): every open connection was
  /// validated under the old credentials, so each is closed — at once if
  /// it is between requests, after its answer otherwise. Peers reconnect and
  /// are validated again; a revoked one is refused.
  void drop_connections();
  [[nodiscard]] std::uint16_t port() const;
  [[nodiscard]] std::size_t active_connections() const;
  [[nodiscard]] PeerServerStats stats() const;

  struct Impl;

private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace hiegate::transport
