#include "hiegate/transport/tls.hpp"

#include <botan/cpuid.h>

#include "tls_context_impl.hpp"

namespace hiegate::transport {

const std::vector<std::string>& tls_cipher_preference() {
  static const std::vector<std::string> order = [] {
    if (Botan::CPUID::has_hw_aes() && Botan::CPUID::has_carryless_multiply()) {
      return std::vector<std::string>{"AES-256/GCM", "AES-128/GCM", "ChaCha20Poly1305"};
    }
    return std::vector<std::string>{"ChaCha20Poly1305", "AES-256/GCM", "AES-128/GCM"};
  }();
  return order;
}

namespace {

// boost::system::error_category has a protected non-virtual destructor.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnon-virtual-dtor"
class TlsCategory final : public boost::system::error_category {
public:
  const char* name() const noexcept override { return "hiegate.tls"; }
  std::string message(int ev) const override {
    switch (static_cast<TlsErrc>(ev)) {
      case TlsErrc::handshake_failed: return "TLS handshake failed";
      case TlsErrc::peer_rejected: return "peer certificate refused";
      case TlsErrc::peer_alert: return "peer sent a fatal alert";
      case TlsErrc::protocol_error: return "TLS protocol error";
      case TlsErrc::renegotiation_refused: return "renegotiation refused";
      case TlsErrc::handshake_too_large: return "handshake too large";
      case TlsErrc::timeout: return "TLS stream timed out";
      case TlsErrc::stream_truncated: return "stream truncated (no close_notify)";
      case TlsErrc::wrong_peer: return "peer is not the expected identity";
      case TlsErrc::not_established: return "TLS session not established";
    }
    return "unknown TLS error";
  }
};
#pragma GCC diagnostic pop

}  // namespace

const boost::system::error_category& tls_category() noexcept {
  static const TlsCategory category;  // immutable
  return category;
}

std::shared_ptr<TlsContext> TlsContext::create(std::shared_ptr<CredentialStore> store, TlsSettings settings) {
  const std::size_t max_chain = store->current()->options().max_chain_bytes;
  return std::shared_ptr<TlsContext>(
      new TlsContext(std::make_unique<Impl>(std::move(store), std::move(settings), max_chain)));
}

TlsContext::TlsContext(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TlsContext::~TlsContext() = default;
const TlsSettings& TlsContext::settings() const { return impl_->settings; }
const std::shared_ptr<CredentialStore>& TlsContext::store() const { return impl_->store; }

}  // namespace hiegate::transport
