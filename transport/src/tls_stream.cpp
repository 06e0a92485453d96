#include "hiegate/transport/tls_stream.hpp"

#include "tls_core.hpp"

namespace hiegate::transport {

TlsStream::TlsStream(boost::asio::ip::tcp::socket socket, std::shared_ptr<TlsContext> ctx, TlsRole role,
                     std::optional<PeerIdentity> expected_peer)
    : core_(std::make_shared<detail::TlsCore>(std::move(socket), std::move(ctx), role, std::move(expected_peer))) {}

TlsStream::~TlsStream() {
  if (core_) core_->close();
}
TlsStream::TlsStream(TlsStream&&) noexcept = default;

TlsStream::executor_type TlsStream::get_executor() const noexcept { return executor_type(core_->strand_); }
TlsStream::next_layer_type& TlsStream::next_layer() { return core_->socket_; }
const std::optional<PeerIdentity>& TlsStream::peer() const { return core_->peer_; }
std::optional<Error> TlsStream::last_error() const { return core_->last_error_; }
std::shared_ptr<const Credentials> TlsStream::credentials() const { return core_->creds_; }
void TlsStream::expires_after(std::chrono::steady_clock::duration d) { core_->expires_after(d); }
void TlsStream::expires_never() { core_->expires_never(); }
void TlsStream::close() { core_->close(); }

void TlsStream::start_handshake(detail::Done done) { core_->handshake(std::move(done)); }
void TlsStream::start_shutdown(detail::Done done) { core_->shutdown(std::move(done)); }
void TlsStream::start_read(std::vector<boost::asio::mutable_buffer> bufs, detail::IoDone done) {
  core_->read(std::move(bufs), std::move(done));
}
void TlsStream::start_write(std::vector<boost::asio::const_buffer> bufs, detail::IoDone done) {
  core_->write(std::move(bufs), std::move(done));
}

}  // namespace hiegate::transport
