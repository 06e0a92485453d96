#include "hiegate/transport/peer_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <deque>
#include <map>
#include <mutex>

#include "hiegate/transport/read_room.hpp"
#include "hiegate/transport/tls_stream.hpp"

namespace hiegate::transport {
namespace asio = boost::asio;
namespace http = boost::beast::http;
using boost::system::error_code;
using tcp = asio::ip::tcp;
using Steady = std::chrono::steady_clock;

namespace {

struct Conn {
  std::unique_ptr<TlsStream> stream;
  boost::beast::flat_buffer buffer;
  Steady::time_point last_used;
  std::uint64_t epoch = 0;  ///< the pool's epoch when the handshake began
  bool reused = false;      ///< taken from the idle pool (the peer may have closed it meanwhile)
};

struct Job {
  PeerAddress addr;
  OutboundRequest req;
  ResponseHandler done;
  int attempt = 0;
};

// Bodies up to this size are read without asking hold_body.
constexpr std::uint64_t kSmallBody = 64 * 1024;

/// A response's status and headers (its body left to the caller).
PeerResponse head_of(const http::response_header<>& res) {
  PeerResponse pr;
  pr.status = res.result_int();
  pr.content_type = std::string(res[http::field::content_type]);
  for (const auto& f : res) pr.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
  return pr;
}

bool idempotent(std::string_view m) {
  return m == "GET" || m == "HEAD" || m == "PUT" || m == "DELETE" || m == "OPTIONS";
}

Error classify(error_code ec, const std::shared_ptr<Conn>& conn, std::string_view phase) {
  if (ec == TlsErrc::timeout || ec == asio::error::timed_out) return make_error("timeout", std::string(phase) + " timed out");
  if (ec == TlsErrc::wrong_peer) return make_error("wrong_peer", "the server is not the peer we called");
  if (ec.category() == tls_category()) {
    std::string why = ec.message();
    if (conn && conn->stream)
      if (auto e = conn->stream->last_error()) why += " (" + e->code + ": " + e->message + ")";
    return make_error("tls_failed", why);
  }
  return make_error(phase == "connect" ? "connect_failed" : "http_failed", std::string(phase) + ": " + ec.message());
}

}  // namespace

struct PeerClient::Impl : std::enable_shared_from_this<PeerClient::Impl> {
  struct Peer {
    std::vector<std::shared_ptr<Conn>> idle;
    std::size_t open = 0;
    std::deque<std::shared_ptr<Job>> queue;
    int failures = 0;
    Steady::time_point open_until{};
  };

  Impl(asio::io_context& ioc, std::shared_ptr<TlsContext> t, PeerClientOptions o)
      : io(ioc), tls(std::move(t)), opts(o) {}

  void complete(const std::shared_ptr<Job>& job, Result<PeerResponse> r) {
    asio::post(io, [job, r = std::move(r)]() mutable { job->done(std::move(r)); });
  }

  void submit(std::shared_ptr<Job> job) {
    std::shared_ptr<Conn> conn;
    {
      std::lock_guard lock(mu);
      if (stopped) return complete(job, make_error("peer_unavailable", "client is shut down"));
      auto& p = peers[job->addr.facility];
      const auto now = Steady::now();
      if (now < p.open_until)
        return complete(job, make_error("peer_unavailable", "circuit breaker open for " + job->addr.facility));
      while (!p.idle.empty() && !conn) {
        auto c = std::move(p.idle.back());
        p.idle.pop_back();
        if (now - c->last_used < opts.idle_keepalive) {
          conn = std::move(c);
          conn->reused = true;
        } else {
          --p.open;
          c->stream->close();
        }
      }
      if (!conn) {
        if (p.open >= opts.max_per_peer) {
          p.queue.push_back(std::move(job));
          return;
        }
        ++p.open;
      }
    }
    if (conn)
      send(std::move(job), std::move(conn));
    else
      connect(std::move(job));
  }

  void connect(std::shared_ptr<Job> job) {
    auto strand = asio::make_strand(io);
    auto resolver = std::make_shared<tcp::resolver>(strand);
    auto sock = std::make_shared<tcp::socket>(strand);
    auto timer = std::make_shared<asio::steady_timer>(strand, opts.connect_timeout);
    timer->async_wait([resolver, sock](error_code ec) {
      if (ec) return;
      resolver->cancel();
      error_code ig;
      sock->close(ig);
    });
    resolver->async_resolve(
        job->addr.host, std::to_string(job->addr.port),
        [self = shared_from_this(), job, resolver, sock, timer](error_code ec, tcp::resolver::results_type rs) {
          if (ec) {
            timer->cancel();
            return self->failed(job, nullptr, classify(ec, nullptr, "connect"));
          }
          asio::async_connect(*sock, rs, [self, job, sock, timer](error_code cec, const tcp::endpoint&) {
            const bool timed_out = timer->expiry() <= Steady::now();
            timer->cancel();
            if (cec)
              return self->failed(job, nullptr,
                                  timed_out ? make_error("timeout", "connect timed out") : classify(cec, nullptr, "connect"));
            self->handshake(job, std::move(*sock));
          });
        });
  }

  void handshake(std::shared_ptr<Job> job, tcp::socket sock) {
    // TLS records of one request leave in several writes: no Nagle delay.
    error_code nd;
    sock.set_option(tcp::no_delay(true), nd);
    const PeerIdentity expected =
        job->addr.secretariat
            ? PeerIdentity{PeerIdentity::Kind::secretariat, tls->store()->current()->identity().network, ""}
            : PeerIdentity{PeerIdentity::Kind::facility, tls->store()->current()->identity().network,
                           job->addr.facility};
    auto conn = std::make_shared<Conn>();
    {
      std::lock_guard lock(mu);
      conn->epoch = epoch;
    }
    conn->stream = std::make_unique<TlsStream>(std::move(sock), tls, TlsRole::client, expected);
    conn->stream->expires_after(opts.handshake_timeout);
    conn->stream->async_handshake([self = shared_from_this(), job, conn](error_code ec) {
      if (ec) return self->failed(job, conn, classify(ec, conn, "handshake"));
      self->send(job, conn);
    });
  }

  void send(std::shared_ptr<Job> job, std::shared_ptr<Conn> conn) {
    const auto verb = http::string_to_verb(job->req.method);
    if (verb == http::verb::unknown) {
      release(job->addr.facility, conn, true);
      return complete(job, make_error("bad_request", "unknown HTTP method"));
    }
    auto req = std::make_shared<http::request<http::string_body>>(verb, job->req.target, 11);
    req->set(http::field::host, job->addr.host);
    req->set(http::field::user_agent, "hiegate");
    for (const auto& [k, v] : job->req.headers) req->insert(k, v);
    if (!job->req.body.empty()) req->set(http::field::content_type, job->req.content_type);
    req->body() = job->req.body;
    req->keep_alive(true);
    req->prepare_payload();
    conn->stream->expires_after(opts.request_timeout);
    http::async_write(*conn->stream, *req, [self = shared_from_this(), job, conn, req](error_code ec, std::size_t) {
      if (ec) return self->failed(job, conn, classify(ec, conn, "request"));
      auto parser = std::make_shared<http::response_parser<http::string_body>>();
      parser->body_limit(self->opts.max_response_body);
      make_read_room(conn->buffer);
      // The secretariat's answers (orders) are never refused: they must get through.
      const bool holds = self->opts.hold_body && !job->addr.secretariat;
      if (!holds && job->req.stream_above == 0) return self->read_response(job, conn, parser, nullptr);
      http::async_read_header(*conn->stream, conn->buffer, *parser,
                              [self, job, conn, parser, holds](error_code rec, std::size_t) {
                                if (rec) return self->failed(job, conn, classify(rec, conn, "response"));
                                std::shared_ptr<const void> hold;
                                if (!parser->is_done()) {
                                  const auto len = parser->content_length();
                                  const bool stream = job->req.stream_above > 0 && len &&
                                                      *len > job->req.stream_above &&
                                                      parser->get().result_int() == 200;
                                  if (holds && (!len || *len > kSmallBody)) {
                                    const std::uint64_t want = len ? *len : self->opts.max_response_body;
                                    hold = self->opts.hold_body(stream ? std::min(want, kStreamHold) : want);
                                    if (!hold) {
                                      // Not the peer's fault: no breaker count, no retry.
                                      self->release(job->addr.facility, conn, false);
                                      return self->complete(
                                          job, make_error("overloaded", "no memory is free now for the response"));
                                    }
                                  }
                                  if (stream) return self->stream_response(job, conn, *parser, std::move(hold));
                                }
                                self->read_response(job, conn, parser, std::move(hold));
                              });
    });
  }

  void read_response(std::shared_ptr<Job> job, std::shared_ptr<Conn> conn,
                     std::shared_ptr<http::response_parser<http::string_body>> parser,
                     std::shared_ptr<const void> hold) {
    http::async_read(*conn->stream, conn->buffer, *parser,
                     [self = shared_from_this(), job, conn, parser, hold](error_code rec, std::size_t) {
                       if (rec) return self->failed(job, conn, classify(rec, conn, "response"));
                       conn->stream->expires_never();
                       trim_read_room(conn->buffer);
                       auto res = parser->release();
                       PeerResponse pr = head_of(res);
                       pr.body = std::move(res.body());
                       pr.keep = hold;
                       self->succeeded(job, conn, std::move(pr), res.keep_alive());
                     });
  }

  /// The answer now, its body as a stream over the connection (see
  /// OutboundRequest::stream_above).
  void stream_response(std::shared_ptr<Job> job, std::shared_ptr<Conn> conn,
                       http::response_parser<http::string_body>& header, std::shared_ptr<const void> hold) {
    PeerResponse pr = head_of(header.get());
    auto body = std::make_shared<BodyStream>();
    body->size = *header.content_length();
    auto reader = std::make_shared<BodyReader>(shared_from_this(), job->addr.facility, conn, std::move(header));
    body->next = [reader](BodyStream::Piece piece) { reader->next(std::move(piece)); };
    pr.stream = std::move(body);
    pr.keep = std::move(hold);
    answered(job->addr.facility);
    job->done(std::move(pr));
  }

  /// Reads a streamed answer's body piece by piece on its connection's
  /// strand; gives the connection back once the body is read to its end,
  /// closes it if dropped before.
  class BodyReader : public std::enable_shared_from_this<BodyReader> {
  public:
    BodyReader(std::shared_ptr<Impl> impl, std::string facility, std::shared_ptr<Conn> conn,
               http::response_parser<http::string_body>&& header)
        : impl_(std::move(impl)), facility_(std::move(facility)), conn_(std::move(conn)), parser_(std::move(header)) {
      keep_alive_ = parser_.get().keep_alive();
    }
    ~BodyReader() {
      if (conn_) impl_->release(facility_, conn_, false);
    }
    BodyReader(const BodyReader&) = delete;
    BodyReader& operator=(const BodyReader&) = delete;

    void next(BodyStream::Piece piece) {
      asio::dispatch(conn_ ? conn_->stream->get_executor() : asio::any_io_executor(impl_->io.get_executor()),
                     [self = shared_from_this(), piece = std::move(piece)]() mutable { self->read(std::move(piece)); });
    }

  private:
    void read(BodyStream::Piece piece) {
      if (!conn_) return piece(std::string());  // read to its end before
      if (parser_.is_done()) return give_back(std::move(piece), std::string());
      buf_.resize(64 * 1024);
      parser_.get().body().data = buf_.data();
      parser_.get().body().size = buf_.size();
      conn_->stream->expires_after(impl_->opts.request_timeout);
      http::async_read_some(*conn_->stream, conn_->buffer, parser_, [self = shared_from_this(), piece = std::move(piece)](
                                                                        error_code ec, std::size_t) mutable {
        if (ec == http::error::need_buffer) ec = {};
        if (ec) {
          auto err = classify(ec, self->conn_, "response");
          self->impl_->release(self->facility_, self->conn_, false);
          self->conn_.reset();
          return piece(std::move(err));
        }
        self->buf_.resize(self->buf_.size() - self->parser_.get().body().size);
        if (self->buf_.empty() && !self->parser_.is_done()) return self->read(std::move(piece));
        // The deadline is the peer's, for each read: not counted while the
        // consumer (an EHR reading slowly, with its own timeout) writes.
        self->conn_->stream->expires_never();
        std::string got = std::move(self->buf_);
        self->buf_ = std::string();
        if (self->parser_.is_done()) return self->give_back(std::move(piece), std::move(got));
        piece(std::move(got));
      });
    }

    /// The body has been read to its end: the connection back to the pool.
    void give_back(BodyStream::Piece piece, std::string last) {
      conn_->stream->expires_never();
      trim_read_room(conn_->buffer);
      auto conn = std::move(conn_);
      impl_->release(facility_, conn, keep_alive_);
      piece(std::move(last));
    }

    std::shared_ptr<Impl> impl_;
    std::string facility_;
    std::shared_ptr<Conn> conn_;  // null once given back or closed
    http::response_parser<http::buffer_body> parser_;
    bool keep_alive_ = false;
    std::string buf_;
  };

  /// Gives a connection slot back: to the next queued job, to the idle list
  /// (`keep`), or closes it.
  void release(const std::string& facility, const std::shared_ptr<Conn>& conn, bool keep) {
    std::shared_ptr<Job> next;
    bool reuse = false;
    {
      std::lock_guard lock(mu);
      auto& p = peers[facility];
      if (conn && conn->epoch != epoch) keep = false;  // made under older credentials
      if (!p.queue.empty() && !stopped) {
        next = std::move(p.queue.front());
        p.queue.pop_front();
        reuse = keep;
      } else if (keep && !stopped) {
        conn->last_used = Steady::now();
        p.idle.push_back(conn);
      } else {
        --p.open;
      }
    }
    if (conn && !keep) conn->stream->close();
    if (next && reuse)
      send(std::move(next), conn);
    else if (next)
      connect(std::move(next));  // the slot passes to the queued job
  }

  /// The peer answered: its breaker count starts again.
  void answered(const std::string& facility) {
    std::lock_guard lock(mu);
    auto& p = peers[facility];
    p.failures = 0;
    p.open_until = {};
  }

  void succeeded(std::shared_ptr<Job> job, std::shared_ptr<Conn> conn, PeerResponse res, bool keep) {
    answered(job->addr.facility);
    release(job->addr.facility, conn, keep);
    job->done(std::move(res));
  }

  void failed(std::shared_ptr<Job> job, std::shared_ptr<Conn> conn, Error err) {
    // A pooled connection the peer closed meanwhile (it restarted, or timed
    // the connection out) says nothing about the peer: an idempotent request
    // on it is tried again on a fresh connection, without a breaker count.
    // The other idle connections to it are most likely closed too.
    const bool stale = conn && conn->reused;
    std::vector<std::shared_ptr<Conn>> dropped;
    {
      std::lock_guard lock(mu);
      auto& p = peers[job->addr.facility];
      if (stale) {
        dropped.swap(p.idle);
        p.open -= dropped.size();
      } else if (++p.failures >= opts.breaker_threshold) {
        p.open_until = Steady::now() + opts.breaker_cooldown;
      }
    }
    for (auto& c : dropped) c->stream->close();
    release(job->addr.facility, conn, false);
    const bool retry = idempotent(job->req.method) && job->attempt < opts.max_retries &&
                       (stale || (err.code != "wrong_peer" && err.code != "tls_failed"));
    if (!retry) return job->done(std::move(err));
    auto delay = opts.backoff_base * (1 << std::min(job->attempt, 16));
    if (delay > opts.backoff_max) delay = opts.backoff_max;
    ++job->attempt;
    auto timer = std::make_shared<asio::steady_timer>(io, delay);
    timer->async_wait([self = shared_from_this(), job, timer](error_code) { self->submit(job); });
  }

  asio::io_context& io;
  std::shared_ptr<TlsContext> tls;
  PeerClientOptions opts;
  mutable std::mutex mu;  // guards peers, stopped, epoch
  std::map<std::string, Peer> peers;
  bool stopped = false;
  std::uint64_t epoch = 0;  // bumped by drop_connections()
};

PeerClient::PeerClient(asio::io_context& ioc, std::shared_ptr<TlsContext> tls, PeerClientOptions opts)
    : impl_(std::make_shared<Impl>(ioc, std::move(tls), opts)) {}

PeerClient::~PeerClient() { shutdown(); }

void PeerClient::async_request(const PeerAddress& peer, OutboundRequest req, ResponseHandler done) {
  auto job = std::make_shared<Job>(Job{peer, std::move(req), std::move(done), 0});
  if (peer.secretariat) {
    if (!peer.facility.empty())
      return impl_->complete(job, make_error("bad_peer", "the secretariat's address names a facility"));
    job->addr.facility = "secretariat";  // the pool key; never a facility code
  } else if (!is_facility_code(peer.facility)) {
    return impl_->complete(job, make_error("bad_peer", "not a facility code: " + peer.facility));
  }
  impl_->submit(std::move(job));
}

PeerClient::PeerState PeerClient::state(const std::string& facility) const {
  std::lock_guard lock(impl_->mu);
  PeerState s;
  auto it = impl_->peers.find(facility);
  if (it == impl_->peers.end()) return s;
  s.open = it->second.open;
  s.idle = it->second.idle.size();
  s.consecutive_failures = it->second.failures;
  s.breaker_open = Steady::now() < it->second.open_until;
  return s;
}

void PeerClient::drop_connections() {
  std::vector<std::shared_ptr<Conn>> idle;
  {
    std::lock_guard lock(impl_->mu);
    ++impl_->epoch;
    for (auto& [code, p] : impl_->peers) {
      for (auto& c : p.idle) idle.push_back(std::move(c));
      p.open -= p.idle.size();
      p.idle.clear();
    }
  }
  for (auto& c : idle) c->stream->close();
}

void PeerClient::shutdown() {
  std::vector<std::shared_ptr<Conn>> idle;
  std::vector<std::shared_ptr<Job>> queued;
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopped = true;
    for (auto& [code, p] : impl_->peers) {
      for (auto& c : p.idle) idle.push_back(std::move(c));
      p.open -= p.idle.size();
      p.idle.clear();
      for (auto& j : p.queue) queued.push_back(std::move(j));
      p.queue.clear();
    }
  }
  for (auto& c : idle) c->stream->close();
  for (auto& j : queued) impl_->complete(j, make_error("peer_unavailable", "client is shut down"));
}

}  // namespace hiegate::transport
