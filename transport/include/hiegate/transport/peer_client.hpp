// Outbound peer requests: a small pool of mutual-TLS HTTP/1.1 connections
// per facility, with timeouts, retries with backoff (idempotent methods only)
// and a per-peer circuit breaker. The server must prove exactly the identity
// we meant to call, a facility or the secretariat (TlsErrc::wrong_peer
// otherwise, never retried).
#pragma once

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "hiegate/common/result.hpp"
#include "hiegate/transport/peer_http.hpp"
#include "hiegate/transport/tls.hpp"

namespace hiegate::transport {

struct PeerAddress {
  std::string facility;  ///< 10-digit code the server's certificate must carry
  std::string host;
  std::uint16_t port = 8471;
  /// The server must instead prove hie://<our network>/secretariat, and
  /// `facility` must be empty: a facility certificate never passes for the
  /// secretariat, nor the secretariat's for a facility.
  bool secretariat = false;

  [[nodiscard]] static PeerAddress secretariat_at(std::string host, std::uint16_t port) {
    return PeerAddress{{}, std::move(host), port, true};
  }
};

struct OutboundRequest {
  std::string method = "GET";
  std::string target;  ///< e.g. "/peer/v1/health"
  HeaderList headers;
  std::string body;
  std::string content_type = "application/json";
  /// A 200 answer whose Content-Length is above this comes as
  /// PeerResponse::stream, read from the connection as it is pulled (pieces
  /// of at most 64 KiB; hold_body is asked for kStreamHold bytes, not the
  /// whole length). The connection goes back to the pool once the body has
  /// been read to its end, and is closed if the stream is dropped before.
  /// 0: every body is read whole.
  std::uint64_t stream_above = 0;
};

/// What a streamed answer holds of the memory budget (hold_body).
inline constexpr std::uint64_t kStreamHold = 256 * 1024;

struct PeerClientOptions {
  std::chrono::milliseconds connect_timeout{5'000};
  std::chrono::milliseconds handshake_timeout{10'000};
  std::chrono::milliseconds request_timeout{30'000};
  std::chrono::milliseconds idle_keepalive{30'000};  ///< drop pooled connections idle longer
  std::size_t max_per_peer = 32;                       ///< open connections per facility (requests at once)
  int max_retries = 2;                                 ///< extra attempts, idempotent methods only
  std::chrono::milliseconds backoff_base{200};         ///< doubled per attempt
  std::chrono::milliseconds backoff_max{5'000};
  int breaker_threshold = 5;  ///< consecutive failures that open the breaker
  std::chrono::milliseconds breaker_cooldown{30'000};
  std::size_t max_response_body = 64 * 1024 * 1024;
  /// Called with a response body's length (its Content-Length, or
  /// max_response_body when not given) once its headers are in, for bodies
  /// above 64 KiB, before the body is read: what it returns is kept in the
  /// PeerResponse (`keep`); null refuses the body, and the request fails
  /// with `overloaded` (its connection is closed). Unset: every body is read.
  /// Not asked for the secretariat's answers: its orders must get through.
  std::function<std::shared_ptr<const void>(std::uint64_t bytes)> hold_body;
};

/// Connections, breaker and state() are per facility code; the secretariat's
/// are under the key "secretariat".
/// Error codes: peer_unavailable (breaker open), bad_peer, connect_failed,
/// tls_failed, wrong_peer, timeout, http_failed, overloaded (hold_body
/// refused the response body). A streamed body that fails later (timeout,
/// connection lost, short) fails its piece with timeout or http_failed.
using ResponseHandler = std::function<void(Result<PeerResponse>)>;

/// Thread-safe. Handlers run on a connection's strand (or the pool's), never
/// inline in async_request.
class PeerClient {
public:
  PeerClient(boost::asio::io_context& ioc, std::shared_ptr<TlsContext> tls, PeerClientOptions opts = {});
  ~PeerClient();
  PeerClient(const PeerClient&) = delete;
  PeerClient& operator=(const PeerClient&) = delete;

  void async_request(const PeerAddress& peer, OutboundRequest req, ResponseHandler done);

  struct PeerState {
    std::size_t open = 0;  ///< connections (busy + idle)
    std::size_t idle = 0;
    int consecutive_failures = 0;
    bool breaker_open = false;
  };
  [[nodiscard]] PeerState state(const std::string& facility) const;
  /// Closes the idle connections; connections busy now are closed when their
  /// request ends instead of being pooled. For a credentials reload (a new
  /// CRL): the next request to each peer handshakes under the new snapshot.
  void drop_connections();
  /// Closes idle connections and fails queued requests.
  void shutdown();

  struct Impl;

private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace hiegate::transport
