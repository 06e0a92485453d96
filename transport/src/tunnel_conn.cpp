// Setting up a tunnel connection: the outbound path (local client → resolve →
// TCP → TLS → service line) and the inbound path (TLS → service line →
// allow-list, mode, caps → backend → "OK"). Then tunnel_relay.cpp carries bytes.
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>

#include "tunnel_impl.hpp"

namespace hiegate::transport::tunnel_detail {
using boost::system::error_code;
namespace wire = tunnel_wire;

Conn::Conn(std::shared_ptr<Impl> engine, std::shared_ptr<TunnelState> tunnel, PlainSocket plain)
    : engine_(std::move(engine)),
      strand_(asio::make_strand(engine_->io)),
      direction_(TunnelDirection::outbound),
      tunnel_(std::move(tunnel)),
      facility_(tunnel_->out.facility),
      service_(tunnel_->out.service),
      plain_(std::move(plain)),
      timer_(strand_),
      up_wait_(strand_),
      down_wait_(strand_) {}

Conn::Conn(std::shared_ptr<Impl> engine, asio::ip::tcp::socket sock)
    : engine_(std::move(engine)),
      strand_(asio::make_strand(engine_->io)),
      direction_(TunnelDirection::inbound),
      plain_(strand_),
      tcp_(std::move(sock)),
      timer_(strand_),
      up_wait_(strand_),
      down_wait_(strand_) {}

void Conn::start() {
  asio::post(strand_, [self = shared_from_this()] {
    self->started_ = self->engine_->now();
    self->t0_ = std::chrono::steady_clock::now();
    self->id_ = self->engine_->enroll(self, self->direction_);
    if (self->id_ == 0) return self->end("stopped", "the tunnel engine is stopping");
    self->arm_setup_deadline();
    if (self->direction_ == TunnelDirection::outbound)
      self->out_start();
    else
      self->in_start();
  });
}

void Conn::abort(std::string code, std::string detail) {
  asio::post(strand_, [self = shared_from_this(), code = std::move(code), detail = std::move(detail)]() mutable {
    self->end(std::move(code), std::move(detail));
  });
}

void Conn::arm_setup_deadline() {
  timer_.expires_after(engine_->limits.connect_timeout);
  timer_.async_wait([self = shared_from_this()](error_code ec) {
    if (ec || self->relaying_ || self->finished_) return;
    self->end(self->direction_ == TunnelDirection::outbound ? "peer_unavailable" : "protocol_error",
              "tunnel set-up timed out");
  });
}

// --- outbound ---

void Conn::out_start() {
  if (!engine_->permitted(TunnelDirection::outbound))
    return end("refused_mode", "the operating mode does not permit view");
  if (!engine_->facility_permitted(facility_))
    return end("facility_suspended", "the facility is suspended by the secretariat");
  if (auto why = engine_->admit(id_, tunnel_, facility_); !why.empty())
    return end(why, "connection cap reached");
  admitted_ = true;
  // Nothing of the service (not even its name) reaches the other gateway
  // before this side's record is durable, but the dial and the handshake
  // need not wait for it: one flush less in series per connection.
  when_recorded([self = shared_from_this()] { self->out_hello(); });
  out_dial();
}

void Conn::when_recorded(std::function<void()> next) {
  if (!engine_->hooks.opened) return next();
  engine_->hooks.opened(record("opened", ""), [self = shared_from_this(), next = std::move(next)](bool recorded) {
    asio::post(self->strand_, [self, next, recorded] {
      if (self->finished_) return;
      if (recorded) return next();
      const char* why = "the audit trail cannot be written";
      if (self->direction_ == TunnelDirection::inbound) return self->in_refuse("audit_unavailable", why);
      self->end("audit_unavailable", why);
    });
  });
}

void Conn::out_dial() {
  const auto addr = engine_->hooks.resolve ? engine_->hooks.resolve(facility_) : std::nullopt;
  if (!addr) return end("peer_unavailable", "no tunnel address known for the facility");
  // "host:port" or "[v6]:port"
  const auto colon = addr->rfind(':');
  if (colon == std::string::npos || colon == 0) return end("peer_unavailable", "bad peer address");
  std::string host = addr->substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  out_connect(host, addr->substr(colon + 1));
}

void Conn::out_connect(const std::string& host, const std::string& port) {
  resolver_.emplace(strand_);
  tcp_.emplace(strand_);
  resolver_->async_resolve(host, port, [self = shared_from_this()](error_code ec, const auto& results) {
    if (self->finished_) return;
    if (ec) return self->end("peer_unavailable", "resolve: " + ec.message());
    asio::async_connect(*self->tcp_, results, [self](error_code cec, const auto&) {
      if (self->finished_) return;
      if (cec) return self->end("peer_unavailable", "connect: " + cec.message());
      self->out_handshake();
    });
  });
}

void Conn::out_handshake() {
  error_code ig;
  tcp_->set_option(asio::ip::tcp::no_delay(true), ig);
  const auto creds = engine_->tls->store()->current();
  PeerIdentity expected{PeerIdentity::Kind::facility, creds->identity().network, facility_};
  tls_.emplace(std::move(*tcp_), engine_->tls, TlsRole::client, std::move(expected));
  tcp_.reset();
  tls_->async_handshake(asio::bind_executor(strand_, [self = shared_from_this()](error_code ec) {
    if (self->finished_) return;
    if (ec) {
      const auto e = self->tls_->last_error();
      return self->end("handshake_failed", e ? e->code + ": " + e->message : ec.message());
    }
    self->out_hello();
  }));
}

// Called twice, on the strand: once the opening record is durable and once
// the handshake is done. The second call sends the service line.
void Conn::out_hello() {
  if (finished_ || --before_hello_ > 0) return;
  out_msg_ = wire::hello(service_);
  asio::async_write(*tls_, asio::buffer(out_msg_),
                    asio::bind_executor(strand_, [self = shared_from_this()](error_code wec, std::size_t) {
                      if (self->finished_) return;
                      if (wec) return self->end("peer_unavailable", "sending the service line failed");
                      asio::async_read_until(
                          *self->tls_, asio::dynamic_buffer(self->line_, wire::kMaxLine), '\n',
                          asio::bind_executor(self->strand_, [self](error_code rec, std::size_t n) {
                            if (self->finished_) return;
                            if (rec) return self->end("refused_by_peer", "no answer to the service line");
                            const auto code = wire::parse_reply(std::string_view(self->line_).substr(0, n - 1));
                            if (!code) return self->end("protocol_error", "malformed answer to the service line");
                            if (!code->empty()) return self->end("refused_by_peer", *code);
                            self->relay(self->line_.substr(n));
                          }));
                    }));
}

// --- inbound ---

void Conn::in_start() {
  if (!engine_->permitted(TunnelDirection::inbound)) return end("refused_mode", "the operating mode does not permit serve");
  error_code ig;
  tcp_->set_option(asio::ip::tcp::no_delay(true), ig);
  tls_.emplace(std::move(*tcp_), engine_->tls, TlsRole::server);
  tcp_.reset();
  tls_->async_handshake(asio::bind_executor(strand_, [self = shared_from_this()](error_code ec) {
    if (self->finished_) return;
    if (ec) {
      self->engine_->count_handshake_failure();
      const auto e = self->tls_->last_error();
      return self->end("handshake_failed", e ? e->code + ": " + e->message : ec.message());
    }
    self->facility_ = self->tls_->peer()->facility;
    self->in_hello();
  }));
}

void Conn::in_hello() {
  asio::async_read_until(
      *tls_, asio::dynamic_buffer(line_, wire::kMaxLine), '\n',
      asio::bind_executor(strand_, [self = shared_from_this()](error_code ec, std::size_t n) {
        if (self->finished_) return;
        if (ec) return self->end("protocol_error", "no service line");
        const auto name = wire::parse_hello(std::string_view(self->line_).substr(0, n - 1));
        if (!name) return self->in_refuse("protocol_error", "malformed service line");
        if (n != self->line_.size()) return self->in_refuse("protocol_error", "data before the service was accepted");
        self->service_ = *name;
        self->tunnel_ = self->engine_->inbound_service(*name);
        if (!self->tunnel_) {
          self->engine_->count_unknown_service();
          return self->in_refuse("unknown_service", "no such service");
        }
        const auto& allow = self->tunnel_->in.allow;
        const bool any = allow.size() == 1 && allow[0] == "*";
        const auto peer = *self->tls_->peer();
        if (peer.kind != PeerIdentity::Kind::facility ||
            (!any && std::find(allow.begin(), allow.end(), peer.facility) == allow.end()))
          return self->in_refuse("forbidden", "caller " + peer.uri() + " is not on the service's allow-list");
        if (!self->engine_->permitted(TunnelDirection::inbound))
          return self->in_refuse("refused_mode", "the operating mode does not permit serve");
        if (!self->engine_->facility_permitted(peer.facility))
          return self->in_refuse("facility_suspended", "the facility is suspended by the secretariat");
        if (auto why = self->engine_->admit(self->id_, self->tunnel_, self->facility_); !why.empty())
          return self->in_refuse(why, "connection cap reached");
        self->admitted_ = true;
        self->when_recorded([self] { self->in_connect_backend(); });
      }));
}

void Conn::in_refuse(const std::string& code, const std::string& detail) {
  out_msg_ = wire::reply(code);
  asio::async_write(*tls_, asio::buffer(out_msg_),
                    asio::bind_executor(strand_, [self = shared_from_this(), code, detail](error_code ec, std::size_t) {
                      if (self->finished_) return;
                      if (ec) return self->end(code, detail);
                      self->tls_->async_shutdown(asio::bind_executor(
                          self->strand_, [self, code, detail](error_code) { self->end(code, detail); }));
                    }));
}

void Conn::in_connect_backend() {
  const auto ep = to_generic(tunnel_->in.backend);
  plain_.async_connect(ep, asio::bind_executor(strand_, [self = shared_from_this()](error_code ec) {
    if (self->finished_) return;
    if (ec) return self->in_refuse("backend_unavailable", "backend: " + ec.message());
    if (self->tunnel_->in.backend.kind == LocalEndpoint::Kind::tcp) {
      error_code ig;
      self->plain_.set_option(asio::ip::tcp::no_delay(true), ig);
    }
    if (!self->tunnel_->in.proxy_protocol) return self->in_reply_ok();
    error_code e1, e2;
    const auto src = self->tls_->next_layer().remote_endpoint(e1);
    const auto dst = self->tls_->next_layer().local_endpoint(e2);
    if (e1 || e2) return self->end("aborted_peer", "caller address unavailable");
    self->out_msg_ = wire::proxy_v2(src, dst, self->facility_, self->tls_->peer()->uri());
    asio::async_write(self->plain_, asio::buffer(self->out_msg_),
                      asio::bind_executor(self->strand_, [self](error_code wec, std::size_t) {
                        if (self->finished_) return;
                        if (wec) return self->in_refuse("backend_unavailable", "backend: " + wec.message());
                        self->in_reply_ok();
                      }));
  }));
}

void Conn::in_reply_ok() {
  out_msg_ = wire::reply("");
  asio::async_write(*tls_, asio::buffer(out_msg_),
                    asio::bind_executor(strand_, [self = shared_from_this()](error_code ec, std::size_t) {
                      if (self->finished_) return;
                      if (ec) return self->end("aborted_peer", "the caller went away");
                      self->relay({});
                    }));
}

// --- ending ---

TunnelRecord Conn::record(std::string code, std::string detail) const {
  TunnelRecord r;
  r.direction = direction_;
  r.tunnel = tunnel_ ? tunnel_->name : std::string();
  r.service = service_;
  r.facility = facility_;
  r.started = started_;
  r.duration = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0_);
  r.bytes_to_peer = to_peer_;
  r.bytes_from_peer = from_peer_;
  r.ended = std::move(code);
  r.detail = std::move(detail);
  return r;
}

void Conn::end(std::string code, std::string detail) {
  if (finished_) return;
  finished_ = true;
  error_code ig;
  timer_.cancel();
  up_wait_.cancel();
  down_wait_.cancel();
  if (resolver_) resolver_->cancel();
  if (tcp_) tcp_->close(ig);
  if (tls_) tls_->close();
  plain_.close(ig);
  if (id_ != 0) engine_->release(id_);
  if (tunnel_ && !relaying_) tunnel_->refused.fetch_add(1);
  if (engine_->hooks.audit) {
    const TunnelRecord r = record(std::move(code), std::move(detail));
    try {
      engine_->hooks.audit(r);
    } catch (const std::exception&) {
      // The audit sink reports its own failures; a connection cannot.
    }
  }
}

}  // namespace hiegate::transport::tunnel_detail
