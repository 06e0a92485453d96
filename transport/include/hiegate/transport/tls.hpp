// TLS context and error codes for the peer transport (mutual TLS 1.2, the
// strict policy of shared/DESIGN.md "Identities"). Botan stays behind Impl.
#pragma once

#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "hiegate/transport/credentials.hpp"

namespace hiegate::transport {

/// Stream errors (category "hiegate.tls"). Stable: logs and metrics use them.
enum class TlsErrc {
  handshake_failed = 1,   ///< protocol-level failure during the handshake
  peer_rejected,          ///< the peer's certificate/identity was refused by us
  peer_alert,             ///< the peer sent a fatal alert
  protocol_error,         ///< a TLS error after the handshake
  renegotiation_refused,  ///< the peer tried to renegotiate
  handshake_too_large,    ///< more handshake bytes than allowed
  timeout,                ///< the stream's deadline passed
  stream_truncated,       ///< TCP closed without close_notify
  wrong_peer,             ///< authenticated, but not the identity we meant to call
  not_established,        ///< I/O before the handshake finished
};

const boost::system::error_category& tls_category() noexcept;
inline boost::system::error_code make_error_code(TlsErrc e) noexcept {
  return {static_cast<int>(e), tls_category()};
}

struct TlsSettings {
  std::chrono::milliseconds handshake_timeout{10'000};
  std::size_t max_handshake_bytes = 64 * 1024;  ///< bytes received before the handshake completes
  std::size_t session_cache_size = 256;
  std::chrono::seconds session_lifetime{3600};
  /// Clock for certificate and CRL checks; system clock if empty.
  std::function<SystemTime()> clock;
};

/// The AEAD suites in the order this process offers and picks them (Botan
/// names; the server's own order decides). AES-GCM comes first where the
/// CPU has AES and carry-less multiply instructions: there it is several
/// times faster than ChaCha20-Poly1305 and just as constant-time.
/// ChaCha20-Poly1305 comes first on CPUs without them, where AES in software
/// would be both slow and prone to cache-timing leaks.
[[nodiscard]] const std::vector<std::string>& tls_cipher_preference();

/// Shared by every connection of a process. Thread-safe. Each connection
/// takes the store's current Credentials snapshot when it is created and
/// keeps it (reloads affect new connections only).
class TlsContext {
public:
  struct Impl;
  static std::shared_ptr<TlsContext> create(std::shared_ptr<CredentialStore> store, TlsSettings settings);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  [[nodiscard]] const TlsSettings& settings() const;
  [[nodiscard]] const std::shared_ptr<CredentialStore>& store() const;
  [[nodiscard]] Impl& impl() const { return *impl_; }

private:
  explicit TlsContext(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace hiegate::transport

namespace boost::system {
template <>
struct is_error_code_enum<hiegate::transport::TlsErrc> : std::true_type {};
}  // namespace boost::system
