#include "tls_core.hpp"

#include <botan/tls_client.h>
#include <botan/tls_exceptn.h>
#include <botan/tls_extensions.h>
#include <botan/tls_server.h>

#include <boost/asio/post.hpp>
#include <boost/asio/query.hpp>
#include <boost/asio/execution/context.hpp>

#include <mutex>
#include <boost/asio/write.hpp>

#include "tls_context_impl.hpp"

namespace hiegate::transport::detail {
namespace asio = boost::asio;
using boost::system::error_code;
using Botan::TLS::Alert;

namespace {
/// Plaintext taken per write call: several records, one kernel write.
constexpr std::size_t kMaxWriteChunk = 256 * 1024;
constexpr std::size_t kMinReadBuffer = 16 * 1024;
constexpr std::size_t kMaxReadBuffer = 64 * 1024;
constexpr std::size_t kSmallRead = 4 * 1024;

/// Per-io_context list of cores, so that the context's shutdown can drop the
/// handlers cores hold (Asio destroys the ones it holds itself).
class CoreRegistry final : public asio::execution_context::service {
public:
  using key_type = CoreRegistry;
  static inline asio::execution_context::id id;
  explicit CoreRegistry(asio::execution_context& ctx) : asio::execution_context::service(ctx) {}

  void add(std::weak_ptr<TlsCore> core) {
    std::lock_guard lock(mu_);
    if (cores_.size() >= prune_at_) {
      std::erase_if(cores_, [](const std::weak_ptr<TlsCore>& w) { return w.expired(); });
      prune_at_ = std::max<std::size_t>(64, cores_.size() * 2);
    }
    cores_.push_back(std::move(core));
  }

private:
  void shutdown() override {
    std::vector<std::weak_ptr<TlsCore>> cores;
    {
      std::lock_guard lock(mu_);
      cores.swap(cores_);
    }
    for (auto& w : cores)
      if (auto c = w.lock()) c->drop_handlers();
  }

  std::mutex mu_;
  std::vector<std::weak_ptr<TlsCore>> cores_;
  std::size_t prune_at_ = 64;
};

Alert::Type alert_for(const std::string& code) {
  if (code == "certificate_revoked") return Alert::CERTIFICATE_REVOKED;
  if (code == "certificate_expired" || code == "certificate_not_yet_valid") return Alert::CERTIFICATE_EXPIRED;
  if (code == "certificate_invalid") return Alert::UNKNOWN_CA;
  return Alert::BAD_CERTIFICATE;
}
}  // namespace

TlsCore::TlsCore(asio::ip::tcp::socket socket, std::shared_ptr<TlsContext> ctx, TlsRole role,
                 std::optional<PeerIdentity> expected)
    : strand_(asio::make_strand(socket.get_executor())),
      socket_(std::move(socket)),
      creds_(ctx->store()->current()),
      timer_(strand_),
      ctx_(std::move(ctx)),
      credman_(creds_),
      role_(role),
      expected_(std::move(expected)) {}

TlsCore::~TlsCore() = default;

void TlsCore::handshake(Done done) {
  asio::post(strand_, [self = shared_from_this(), done = std::move(done)]() mutable {
    if (self->channel_ || self->hs_done_) {
      done(make_error_code(TlsErrc::handshake_failed));
      return;
    }
    self->hs_done_ = std::move(done);
    asio::use_service<CoreRegistry>(asio::query(self->socket_.get_executor(), asio::execution::context))
        .add(self->weak_from_this());
    if (!self->error_) {
      auto& ci = self->ctx_->impl();
      try {
        if (self->role_ == TlsRole::server) {
          self->channel_ = std::make_unique<Botan::TLS::Server>(*self, ci.sessions, self->credman_, ci.policy, ci.rng);
        } else {
          error_code ig;
          const auto remote = self->socket_.remote_endpoint(ig);
          self->channel_ = std::make_unique<Botan::TLS::Client>(
              *self, ci.sessions, self->credman_, ci.policy, ci.rng,
              Botan::TLS::Server_Information(remote.address().to_string(), remote.port()),
              Botan::TLS::Protocol_Version::TLS_V12);
        }
      } catch (const std::exception& e) {
        self->fail(make_error_code(TlsErrc::handshake_failed), "tls_setup_failed", e.what());
      }
    }
    self->start_flush();
    self->handshake_step();
  });
}

void TlsCore::handshake_step() {
  if (error_ || established_) {
    auto finish = [self = shared_from_this()](error_code ec) {
      auto d = std::move(self->hs_done_);
      if (!self->error_ && ec) self->error_ = ec;
      d(self->error_ ? self->error_ : ec);
    };
    if (error_) {
      finish(error_);
    } else {
      wait_flush(emitted_, std::move(finish));
    }
    return;
  }
  pump([self = shared_from_this()] { self->handshake_step(); });
}

void TlsCore::pump(Step next) {
  socket_.async_read_some(
      asio::buffer(rx_), asio::bind_executor(strand_, [self = shared_from_this(), next = std::move(next)](
                                                          error_code ec, std::size_t n) mutable {
        if (ec) {
          if (!self->error_) {
            if (ec == asio::error::eof && !self->peer_closed_)
              self->fail(make_error_code(TlsErrc::stream_truncated), "stream_truncated", "TCP closed without close_notify");
            else if (ec != asio::error::eof)
              self->fail(ec, "io_error", ec.message());
          }
          if (ec == asio::error::eof) self->peer_closed_ = true;
        } else {
          self->feed(n);
          self->size_rx(n);
        }
        next();
      }));
}

void TlsCore::size_rx(std::size_t last_read) {
  if (last_read == rx_.size() && last_read < kMaxReadBuffer) {
    rx_.resize(kMaxReadBuffer);
  } else if (last_read <= kSmallRead && rx_.size() > kMinReadBuffer) {
    std::vector<uint8_t>(kMinReadBuffer).swap(rx_);  // back to small traffic: give the memory back
  }
}

void TlsCore::feed(std::size_t n) {
  if (!established_) {
    hs_bytes_ += n;
    if (hs_bytes_ > ctx_->settings().max_handshake_bytes) {
      try {
        channel_->send_fatal_alert(Alert::HANDSHAKE_FAILURE);
      } catch (const std::exception&) {
      }
      fail(make_error_code(TlsErrc::handshake_too_large), "handshake_too_large", "handshake exceeds the size limit");
      return;
    }
  }
  try {
    channel_->received_data(rx_.data(), n);
  } catch (const Botan::TLS::TLS_Exception& e) {
    if (pending_) {
      fail(make_error_code(pending_->first), pending_->second.code, pending_->second.message);
    } else if (e.type() == Alert::NO_RENEGOTIATION) {
      fail(make_error_code(TlsErrc::renegotiation_refused), "renegotiation_refused", e.what());
    } else {
      fail(make_error_code(established_ ? TlsErrc::protocol_error : TlsErrc::handshake_failed), "tls_error", e.what());
    }
  } catch (const std::exception& e) {
    if (pending_)
      fail(make_error_code(pending_->first), pending_->second.code, pending_->second.message);
    else
      fail(make_error_code(established_ ? TlsErrc::protocol_error : TlsErrc::handshake_failed), "tls_error", e.what());
  }
  start_flush();
}

void TlsCore::fail(error_code ec, std::string code, std::string message) {
  if (error_) return;
  error_ = ec;
  last_error_ = Error{std::move(code), std::move(message)};
  close_after_flush_ = true;
  ++timer_gen_;
  timer_.cancel();
  start_flush();  // sends the alert Botan queued, then closes
}

void TlsCore::start_flush() {
  if (writing_) return;
  if (write_error_) out_.clear();
  if (out_.empty()) {
    if (close_after_flush_) close_socket();
    return;
  }
  inflight_.swap(out_);
  out_.clear();
  writing_ = true;
  asio::async_write(socket_, asio::buffer(inflight_),
                    asio::bind_executor(strand_, [self = shared_from_this()](error_code ec, std::size_t n) {
                      self->writing_ = false;
                      self->inflight_.clear();
                      if (ec) {
                        self->write_error_ = ec;
                        self->fail(ec, "io_error", ec.message());
                      } else {
                        self->flushed_ += n;
                      }
                      auto waiters = std::move(self->flush_waiters_);
                      self->flush_waiters_.clear();
                      for (auto& [target, done] : waiters) {
                        if (self->write_error_)
                          done(self->write_error_);
                        else if (target <= self->flushed_)
                          done({});
                        else
                          self->flush_waiters_.emplace_back(target, std::move(done));
                      }
                      self->start_flush();
                    }));
}

void TlsCore::wait_flush(std::uint64_t target, Done done) {
  if (write_error_) {
    done(write_error_);
  } else if (flushed_ >= target) {
    done({});
  } else {
    flush_waiters_.emplace_back(target, std::move(done));
  }
}

void TlsCore::close_socket() {
  error_code ig;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ig);
  socket_.close(ig);
  ++timer_gen_;
  timer_.cancel();
}

void TlsCore::read(std::vector<asio::mutable_buffer> bufs, IoDone done) {
  asio::post(strand_, [self = shared_from_this(), bufs = std::move(bufs), done = std::move(done)]() mutable {
    self->read_step(std::move(bufs), std::move(done));
  });
}

void TlsCore::read_step(std::vector<asio::mutable_buffer> bufs, IoDone done) {
  if (asio::buffer_size(bufs) == 0) return done({}, 0);
  if (plain_off_ < plain_.size()) {
    const std::size_t n = asio::buffer_copy(bufs, asio::buffer(plain_.data() + plain_off_, plain_.size() - plain_off_));
    plain_off_ += n;
    if (plain_off_ == plain_.size()) {
      plain_.clear();
      plain_off_ = 0;
    }
    return done({}, n);
  }
  if (error_) return done(error_, 0);
  if (peer_closed_) return done(asio::error::eof, 0);
  if (!established_) return done(make_error_code(TlsErrc::not_established), 0);
  pump([self = shared_from_this(), bufs = std::move(bufs), done = std::move(done)]() mutable {
    self->read_step(std::move(bufs), std::move(done));
  });
}

void TlsCore::write(std::vector<asio::const_buffer> bufs, IoDone done) {
  asio::post(strand_, [self = shared_from_this(), bufs = std::move(bufs), done = std::move(done)]() mutable {
    if (self->error_) return done(self->error_, 0);
    if (!self->established_ || !self->channel_->is_active())
      return done(make_error_code(TlsErrc::not_established), 0);
    std::size_t total = 0;
    try {
      for (const auto& b : bufs) {
        const std::size_t take = std::min(b.size(), kMaxWriteChunk - total);
        if (take > 0) self->channel_->send(static_cast<const uint8_t*>(b.data()), take);
        total += take;
        if (total == kMaxWriteChunk) break;
      }
    } catch (const std::exception& e) {
      self->fail(make_error_code(TlsErrc::protocol_error), "tls_error", e.what());
      return done(self->error_, 0);
    }
    self->start_flush();
    self->wait_flush(self->emitted_, [total, done = std::move(done)](error_code ec) mutable {
      done(ec, ec ? 0 : total);
    });
  });
}

void TlsCore::shutdown(Done done) {
  asio::post(strand_, [self = shared_from_this(), done = std::move(done)]() mutable {
    if (self->error_ || !self->channel_) {
      self->close_socket();
      return done(self->error_ ? self->error_ : make_error_code(TlsErrc::not_established));
    }
    try {
      if (self->channel_->is_active()) self->channel_->close();
    } catch (const std::exception&) {
    }
    self->start_flush();
    self->wait_flush(self->emitted_, [self, done = std::move(done)](error_code ec) mutable {
      error_code ig;
      self->socket_.shutdown(asio::ip::tcp::socket::shutdown_send, ig);
      done(ec);
    });
  });
}

void TlsCore::expires_after(std::chrono::steady_clock::duration d) {
  asio::post(strand_, [self = shared_from_this(), d] {
    const auto gen = ++self->timer_gen_;
    self->timer_.expires_after(d);
    self->timer_.async_wait([self, gen](error_code ec) {
      if (ec || gen != self->timer_gen_) return;
      self->fail(make_error_code(TlsErrc::timeout), "timeout", "the connection's deadline passed");
      self->close_socket();
    });
  });
}

void TlsCore::expires_never() {
  asio::post(strand_, [self = shared_from_this()] {
    ++self->timer_gen_;
    self->timer_.cancel();
  });
}

void TlsCore::close() {
  asio::post(strand_, [self = shared_from_this()] {
    self->fail(asio::error::operation_aborted, "closed", "connection closed locally");
    self->close_socket();
  });
}

void TlsCore::drop_handlers() {
  auto hs = std::move(hs_done_);
  auto waiters = std::move(flush_waiters_);
  flush_waiters_.clear();
}

// --- Botan callbacks (run inside channel_ calls, on strand_) ---

void TlsCore::tls_emit_data(const uint8_t data[], size_t size) {
  if (write_error_) return;
  out_.insert(out_.end(), data, data + size);
  emitted_ += size;
}

void TlsCore::tls_record_received(uint64_t, const uint8_t data[], size_t size) {
  plain_.append(reinterpret_cast<const char*>(data), size);
}

void TlsCore::tls_alert(Alert alert) {
  if (alert.type() == Alert::CLOSE_NOTIFY) {
    peer_closed_ = true;
  } else if (alert.is_fatal()) {
    fail(make_error_code(TlsErrc::peer_alert), "peer_alert", "peer sent fatal alert " + alert.type_string());
  }
}

void TlsCore::refuse(TlsErrc ec, Error why, Alert::Type alert) {
  const std::string msg = why.message;
  pending_.emplace(ec, std::move(why));
  throw Botan::TLS::TLS_Exception(alert, msg);
}

void TlsCore::check_peer(const std::vector<Botan::X509_Certificate>& chain, Botan::Usage_Type usage) {
  auto id = verify_peer(creds_->impl(), chain, usage, ctx_->impl().now());
  if (!id) {
    const auto alert = alert_for(id.error().code);
    refuse(TlsErrc::peer_rejected, std::move(id).error(), alert);
  }
  if (role_ == TlsRole::client && (!expected_ || *id != *expected_))
    refuse(TlsErrc::wrong_peer, make_error("wrong_peer", "server identity is " + id->uri()), Alert::BAD_CERTIFICATE);
  peer_ = *id;
  verified_ = true;
}

void TlsCore::tls_verify_cert_chain(const std::vector<Botan::X509_Certificate>& chain,
                                    const std::vector<std::shared_ptr<const Botan::OCSP::Response>>&,
                                    const std::vector<Botan::Certificate_Store*>&, Botan::Usage_Type usage,
                                    const std::string&, const Botan::TLS::Policy&) {
  check_peer(chain, usage);
}

void TlsCore::tls_examine_extensions(const Botan::TLS::Extensions& extn, Botan::TLS::Connection_Side) {
  if (!extn.has<Botan::TLS::Extended_Master_Secret>())
    refuse(TlsErrc::handshake_failed, make_error("no_extended_master_secret", "peer does not offer extended master secret"),
           Alert::HANDSHAKE_FAILURE);
}

bool TlsCore::tls_session_established(const Botan::TLS::Session& session) {
  if (!session.supports_extended_master_secret())
    refuse(TlsErrc::handshake_failed, make_error("no_extended_master_secret", "session without extended master secret"),
           Alert::HANDSHAKE_FAILURE);
  // A resumed session skips tls_verify_cert_chain: check the stored chain
  // again now (revocation and CRL freshness may have changed).
  if (!verified_)
    check_peer(session.peer_certs(),
               role_ == TlsRole::server ? Botan::Usage_Type::TLS_CLIENT_AUTH : Botan::Usage_Type::TLS_SERVER_AUTH);
  return true;
}

void TlsCore::tls_session_activated() {
  established_ = true;
  hs_bytes_ = 0;
}

}  // namespace hiegate::transport::detail
