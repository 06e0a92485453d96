// The Botan TLS channel behind TlsStream; private to transport.
// Threading: every member function except the constructor runs on strand_.
// Botan calls the Callbacks overrides synchronously from inside
// received_data()/send()/close(), i.e. also on strand_. Exceptions thrown by
// Botan or by our callbacks are caught in feed()/start_write() and turned
// into TlsErrc codes; none leaves this class.
#pragma once

#include <botan/credentials_manager.h>
#include <botan/tls_callbacks.h>
#include <botan/tls_channel.h>

#include <boost/asio/steady_timer.hpp>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "credentials_impl.hpp"
#include "hiegate/transport/tls_stream.hpp"

namespace hiegate::transport::detail {

class CredManager final : public Botan::Credentials_Manager {
public:
  explicit CredManager(std::shared_ptr<const Credentials> c) : c_(std::move(c)) {}
  std::vector<Botan::Certificate_Store*> trusted_certificate_authorities(const std::string&,
                                                                          const std::string&) override {
    return {c_->impl().roots.get()};
  }
  std::vector<Botan::X509_Certificate> cert_chain(const std::vector<std::string>& key_types,
                                                  const std::string&, const std::string&) override {
    for (const auto& t : key_types)
      if (t == "ECDSA") return c_->impl().chain;
    return {};
  }
  Botan::Private_Key* private_key_for(const Botan::X509_Certificate& cert, const std::string&,
                                      const std::string&) override {
    return cert == c_->impl().chain.front() ? c_->impl().key.get() : nullptr;
  }

private:
  std::shared_ptr<const Credentials> c_;
};

class TlsCore final : public Botan::TLS::Callbacks, public std::enable_shared_from_this<TlsCore> {
public:
  using Strand = boost::asio::strand<boost::asio::any_io_executor>;
  TlsCore(boost::asio::ip::tcp::socket socket, std::shared_ptr<TlsContext> ctx, TlsRole role,
          std::optional<PeerIdentity> expected);
  ~TlsCore() override;

  // Entry points: may be called from any thread; they post to strand_.
  void handshake(Done done);
  void shutdown(Done done);
  void read(std::vector<boost::asio::mutable_buffer> bufs, IoDone done);
  void write(std::vector<boost::asio::const_buffer> bufs, IoDone done);
  void expires_after(std::chrono::steady_clock::duration d);
  void expires_never();
  void close();
  /// Destroys stored completion handlers without calling them. Only for the
  /// io_context's shutdown (nothing runs then): it breaks the cycle
  /// handler -> user object -> TlsStream -> core -> handler.
  void drop_handlers();

  Strand strand_;
  boost::asio::ip::tcp::socket socket_;
  std::optional<PeerIdentity> peer_;
  std::optional<Error> last_error_;
  std::shared_ptr<const Credentials> creds_;

private:
  using Step = UniqueFunction<void()>;
  void handshake_step();
  void read_step(std::vector<boost::asio::mutable_buffer> bufs, IoDone done);
  void pump(Step next);
  void feed(std::size_t n);
  void size_rx(std::size_t last_read);
  void fail(boost::system::error_code ec, std::string code, std::string message);
  void start_flush();
  void wait_flush(std::uint64_t target, Done done);
  void close_socket();
  void check_peer(const std::vector<Botan::X509_Certificate>& chain, Botan::Usage_Type usage);
  [[noreturn]] void refuse(TlsErrc ec, Error why, Botan::TLS::Alert::Type alert);

  // Botan::TLS::Callbacks
  void tls_emit_data(const uint8_t data[], size_t size) override;
  void tls_record_received(uint64_t seq, const uint8_t data[], size_t size) override;
  void tls_alert(Botan::TLS::Alert alert) override;
  bool tls_session_established(const Botan::TLS::Session& session) override;
  void tls_session_activated() override;
  void tls_verify_cert_chain(const std::vector<Botan::X509_Certificate>& chain,
                             const std::vector<std::shared_ptr<const Botan::OCSP::Response>>& ocsp,
                             const std::vector<Botan::Certificate_Store*>& roots, Botan::Usage_Type usage,
                             const std::string& hostname, const Botan::TLS::Policy& policy) override;
  void tls_examine_extensions(const Botan::TLS::Extensions& extn, Botan::TLS::Connection_Side side) override;

  boost::asio::steady_timer timer_;
  std::uint64_t timer_gen_ = 0;
  std::shared_ptr<TlsContext> ctx_;
  CredManager credman_;
  TlsRole role_;
  std::optional<PeerIdentity> expected_;
  std::unique_ptr<Botan::TLS::Channel> channel_;

  Done hs_done_;
  bool established_ = false;
  bool verified_ = false;
  bool peer_closed_ = false;
  std::size_t hs_bytes_ = 0;
  boost::system::error_code error_;
  std::optional<std::pair<TlsErrc, Error>> pending_;  ///< why our callback threw

  std::string plain_;  ///< decrypted, not yet delivered
  std::size_t plain_off_ = 0;
  /// Socket reads land here: 16 KiB (one full record) while the traffic is
  /// small, so that idle connections stay small; grown to 64 KiB once a read
  /// fills it (bulk transfer: several records per read and per Botan call),
  /// back to 16 KiB after a small read.
  std::vector<uint8_t> rx_ = std::vector<uint8_t>(16 * 1024);

  std::vector<uint8_t> out_, inflight_;
  bool writing_ = false;
  bool close_after_flush_ = false;
  boost::system::error_code write_error_;
  std::uint64_t emitted_ = 0, flushed_ = 0;
  std::vector<std::pair<std::uint64_t, Done>> flush_waiters_;
};

}  // namespace hiegate::transport::detail
