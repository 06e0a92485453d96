// A small blocking TLS 1.2 client for a one-way stream to a server outside
// the network's PKI (e.g. an RFC 5425 syslog collector): the server's
// certificate must chain to the given CA certificates and match the host
// name; no client certificate. Runs entirely on the caller's thread (never on
// an event loop); every blocking step (connect 5 s, handshake and writes
// 10 s) gives up soon after `abort` becomes true. Not thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "hiegate/common/result.hpp"

namespace hiegate::transport {

class BlockingTlsClient {
public:
  /// Reads the CA file (PEM, one or more certificates): config_invalid if it
  /// cannot be read or holds none. Does not connect yet.
  static Result<std::unique_ptr<BlockingTlsClient>> create(std::string host, std::uint16_t port,
                                                           const std::filesystem::path& ca_file);
  ~BlockingTlsClient();
  BlockingTlsClient(const BlockingTlsClient&) = delete;
  BlockingTlsClient& operator=(const BlockingTlsClient&) = delete;

  /// Writes `data` over the connection, making it first (TCP, handshake,
  /// verification) if there is none or the server closed it. On failure
  /// the connection is dropped (the next send reconnects); the error says
  /// why (tls_send_failed). Success means TLS handed the bytes to the
  /// kernel, not that the server read them.
  Status send(std::string_view data, const std::atomic<bool>& abort);

  struct Impl;

private:
  explicit BlockingTlsClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace hiegate::transport
