// The local API server: HTTP/1.1 for the facility's EHR on loopback TCP and
// a Unix socket.
//
// Security: binds only loopback addresses (checked again here, not only in
// config); every route but health requires a configured bearer token,
// compared in constant time against the stored SHA-256 hashes; the request
// body of an unauthenticated request is never read.
//
// Limits (from the config snapshot in force at each request): header size →
// 431, body size → 413, a request not complete within request_timeout → 408,
// an idle keep-alive connection is closed after idle_timeout, connections
// beyond max_connections get 503 and are closed. No limit ever crashes the
// server.
//
// Threading: every connection runs on its own strand of the shared
// io_context; the server object itself is thread-safe.
#pragma once

#include <boost/asio/io_context.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "hiegate/common/result.hpp"
#include "hiegate/daemon/config.hpp"
#include "hiegate/daemon/http.hpp"
#include "hiegate/daemon/log.hpp"
#include "hiegate/daemon/metrics.hpp"

namespace hiegate::daemon {

class InFlight;
class MemoryBudget;

class LocalApiServer {
public:
  struct Deps {
    boost::asio::io_context& ioc;
    Logger& log;
    Metrics& metrics;
    const Router& router;                ///< must outlive the server
    std::function<ConfigPtr()> config;   ///< current snapshot; thread-safe
    InFlight* in_flight = nullptr;       ///< where requests naming a function register; may be null
    /// Where request bodies above 64 KiB are counted from their first byte
    /// to their answer; may be null (unbounded).
    MemoryBudget* memory = nullptr;
  };

  explicit LocalApiServer(Deps deps);
  ~LocalApiServer();
  LocalApiServer(const LocalApiServer&) = delete;
  LocalApiServer& operator=(const LocalApiServer&) = delete;

  /// Binds every configured listener (TCP and Unix socket) and starts
  /// accepting. Fails (and binds nothing) if any address cannot be bound.
  Status start(const Config& cfg);

  /// Bound endpoints with their real ports ("127.0.0.1:41234", "unix:/run/...").
  [[nodiscard]] std::vector<std::string> endpoints() const;

  /// Graceful drain: stop accepting, close idle connections, let requests in
  /// flight finish (their responses close the connection). `on_drained`
  /// runs (on an io_context thread) once no connection is left.
  void drain(std::function<void()> on_drained);
  /// Closes every connection now (after the drain timeout).
  void close_all();
  [[nodiscard]] std::size_t connections() const;

  struct Impl;

private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace hiegate::daemon
