// A TLS stream over a TCP socket, driven by Botan's TLS channel (Debian's
// Botan 2.19 has no asio_stream.h). Models Asio's AsyncReadStream and
// AsyncWriteStream, so Beast HTTP runs on top of it.
//
// Contract:
// - One strand per connection: every operation and every internal completion
//   runs on get_executor(). Use one stream from one logical thread of control
//   (its completion handlers); at most one read and one write outstanding.
// - Never blocks. Botan exceptions never escape: they become error_codes
//   (TlsErrc); the detailed reason is in last_error().
// - On a fatal error the alert Botan produced is flushed, then the socket is
//   closed. A received close_notify makes reads end with asio::error::eof;
//   TCP EOF without it is TlsErrc::stream_truncated.
// - The peer identity is set only after chain validation, CRL check and the
//   SAN rule; it is the one source of "who is calling".
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/strand.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hiegate/common/result.hpp"
#include "hiegate/transport/identity.hpp"
#include "hiegate/transport/tls.hpp"
#include "hiegate/transport/unique_function.hpp"

namespace hiegate::transport {

enum class TlsRole { client, server };

namespace detail {
class TlsCore;
using IoDone = UniqueFunction<void(boost::system::error_code, std::size_t)>;
using Done = UniqueFunction<void(boost::system::error_code)>;

/// Wraps an Asio handler so it completes on its own associated executor.
template <class Handler, class Executor, class... Args>
auto on_handler_executor(Handler handler, const Executor& fallback) {
  // A tracked executor keeps the handler's context alive until completion.
  auto ex = boost::asio::prefer(boost::asio::get_associated_executor(handler, fallback),
                                boost::asio::execution::outstanding_work.tracked);
  return [h = std::move(handler), ex](Args... args) mutable {
    boost::asio::dispatch(ex, [h2 = std::move(h), args...]() mutable { h2(args...); });
  };
}
}  // namespace detail

class TlsStream {
public:
  /// A strand, type-erased: Boost 1.74's Beast mis-selects its work guard
  /// for strand<any_io_executor>, so the strand is wrapped in any_io_executor.
  using executor_type = boost::asio::any_io_executor;
  using next_layer_type = boost::asio::ip::tcp::socket;

  /// `expected_peer` (client role): the identity the server must prove.
  /// Takes the context's current credentials snapshot.
  TlsStream(boost::asio::ip::tcp::socket socket, std::shared_ptr<TlsContext> ctx, TlsRole role,
            std::optional<PeerIdentity> expected_peer = std::nullopt);
  ~TlsStream();
  TlsStream(TlsStream&&) noexcept;
  TlsStream& operator=(TlsStream&&) = delete;

  executor_type get_executor() const noexcept;
  next_layer_type& next_layer();

  /// The authenticated peer; set once the handshake completed.
  [[nodiscard]] const std::optional<PeerIdentity>& peer() const;
  /// Why the last operation failed (stable code + message), if it did.
  [[nodiscard]] std::optional<Error> last_error() const;
  /// The credentials snapshot this connection uses.
  [[nodiscard]] std::shared_ptr<const Credentials> credentials() const;
  /// Fails pending and later operations with TlsErrc::timeout after `d`
  /// (closing the socket). Replaces any previous deadline.
  void expires_after(std::chrono::steady_clock::duration d);
  void expires_never();
  /// Aborts at once: pending operations fail, the socket is closed.
  void close();

  template <class Token>
  auto async_handshake(Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code)>(
        [this](auto handler) {
          using H = decltype(handler);
          start_handshake(detail::on_handler_executor<H, executor_type, boost::system::error_code>(
              std::move(handler), get_executor()));
        },
        token);
  }

  /// Sends close_notify and shuts down the sending side of TCP. Does not wait
  /// for the peer's close_notify (RFC 5246 7.2.1).
  template <class Token>
  auto async_shutdown(Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code)>(
        [this](auto handler) {
          using H = decltype(handler);
          start_shutdown(detail::on_handler_executor<H, executor_type, boost::system::error_code>(
              std::move(handler), get_executor()));
        },
        token);
  }

  template <class MutableBufferSequence, class Token>
  auto async_read_some(const MutableBufferSequence& buffers, Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
        [this](auto handler, const MutableBufferSequence& b) {
          using H = decltype(handler);
          std::vector<boost::asio::mutable_buffer> v(boost::asio::buffer_sequence_begin(b),
                                                     boost::asio::buffer_sequence_end(b));
          start_read(std::move(v),
                     detail::on_handler_executor<H, executor_type, boost::system::error_code, std::size_t>(
                         std::move(handler), get_executor()));
        },
        token, buffers);
  }

  template <class ConstBufferSequence, class Token>
  auto async_write_some(const ConstBufferSequence& buffers, Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
        [this](auto handler, const ConstBufferSequence& b) {
          using H = decltype(handler);
          std::vector<boost::asio::const_buffer> v(boost::asio::buffer_sequence_begin(b),
                                                   boost::asio::buffer_sequence_end(b));
          start_write(std::move(v),
                      detail::on_handler_executor<H, executor_type, boost::system::error_code, std::size_t>(
                          std::move(handler), get_executor()));
        },
        token, buffers);
  }

private:
  void start_handshake(detail::Done done);
  void start_shutdown(detail::Done done);
  void start_read(std::vector<boost::asio::mutable_buffer> bufs, detail::IoDone done);
  void start_write(std::vector<boost::asio::const_buffer> bufs, detail::IoDone done);

  std::shared_ptr<detail::TlsCore> core_;
};

}  // namespace hiegate::transport
