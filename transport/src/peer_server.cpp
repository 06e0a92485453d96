#include "hiegate/transport/peer_server.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <map>
#include <mutex>
#include <set>

#include "hiegate/transport/streamed_write.hpp"
#include "hiegate/transport/tls_stream.hpp"

namespace hiegate::transport {
namespace asio = boost::asio;
namespace http = boost::beast::http;
using boost::system::error_code;
using tcp = asio::ip::tcp;

namespace {
class Session;
}

struct PeerServer::Impl : std::enable_shared_from_this<PeerServer::Impl> {
  Impl(asio::io_context& ioc, std::shared_ptr<TlsContext> t, PeerServerOptions o, std::vector<PeerRoute> r)
      : io(ioc), tls(std::move(t)), opts(std::move(o)), routes(std::move(r)), acceptor(asio::make_strand(ioc)) {
    const bool has_health = std::any_of(routes.begin(), routes.end(), [](const PeerRoute& x) {
      return x.method == "GET" && x.path == "/peer/v1/health";
    });
    if (!has_health)
      routes.push_back({"GET", "/peer/v1/health", Caller::any, [](const PeerRequest& req) {
                          return PeerResponse::json(200, R"({"status":"ok","peer":")" + req.peer.uri() + "\"}");
                        }, {}});
  }
  void accept_loop();

  asio::io_context& io;
  std::shared_ptr<TlsContext> tls;
  PeerServerOptions opts;
  std::vector<PeerRoute> routes;  // immutable after construction
  tcp::acceptor acceptor;
  mutable std::mutex mu;  // guards sessions, stats, stopped
  std::set<std::shared_ptr<Session>> sessions;
  PeerServerStats counters;
  bool stopped = false;
  bool draining = false;                  ///< drain(): no new connections
  std::function<void()> drained;          ///< drain()'s `done`, until the last session ends
  /// Bumped by drop_connections(): a session accepted under an older epoch
  /// was validated under credentials (a CRL) that no longer hold.
  std::atomic<std::uint64_t> epoch{0};

  // Fair shares (PeerServerOptions), under `mu`. Counts are erased when they
  // fall to zero; buckets keep one entry per facility that has called (the
  // network's facilities, each with a certificate from its CA).
  std::map<std::string, std::size_t> handshaking;  ///< by remote address
  std::map<std::string, std::size_t> per_facility;  ///< open connections by identity
  struct Bucket {
    double tokens = 0;
    std::chrono::steady_clock::time_point at;
  };
  std::map<std::string, Bucket> buckets;  ///< request tokens by identity

  /// One unit of a counted share, given back when destroyed.
  class Slot {
  public:
    Slot(std::shared_ptr<Impl> server, std::map<std::string, std::size_t> Impl::*counts, std::string key)
        : server_(std::move(server)), counts_(counts), key_(std::move(key)) {}
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;
    ~Slot() {
      std::lock_guard lock(server_->mu);
      auto& m = (*server_).*counts_;
      if (auto it = m.find(key_); it != m.end() && --it->second == 0) m.erase(it);
    }

  private:
    std::shared_ptr<Impl> server_;
    std::map<std::string, std::size_t> Impl::*counts_;
    std::string key_;
  };

  /// Takes one unit of `key`'s share if fewer than `limit` (0: no limit)
  /// are taken; null if not. Caller holds `mu`.
  std::unique_ptr<Slot> take(std::map<std::string, std::size_t> Impl::*counts, const std::string& key,
                             std::size_t limit) {
    auto& n = (this->*counts)[key];
    if (limit != 0 && n >= limit) return nullptr;  // n >= 1: the entry was there
    ++n;
    return std::make_unique<Slot>(shared_from_this(), counts, key);
  }

  /// One request of `who` against its bucket: 0 if it may go on, else the
  /// seconds until it may retry. Caller holds `mu`.
  long admit(const std::string& who) {
    const double rate = opts.facility_requests_per_second;
    if (rate <= 0) return 0;
    const double burst = std::max(1.0, opts.facility_request_burst);
    const auto now = std::chrono::steady_clock::now();
    // A facility not seen lately starts with a full bucket.
    auto [it, fresh] = buckets.try_emplace(who, Bucket{burst, now});
    auto& b = it->second;
    if (!fresh) {
      b.tokens = std::min(burst, b.tokens + rate * std::chrono::duration<double>(now - b.at).count());
      b.at = now;
    }
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    ++counters.rate_limited;
    return std::max(1L, static_cast<long>(std::ceil((1 - b.tokens) / rate)));
  }
};

namespace {

using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

/// Takes the response by value: a document's body moves into the HTTP
/// message, it is not copied.
Response to_beast(PeerResponse r, unsigned version, bool keep_alive) {
  Response res{static_cast<http::status>(r.status), version};
  res.set(http::field::server, "hiegate");
  res.set(http::field::content_type, r.content_type);
  res.set(http::field::cache_control, "no-store");
  for (const auto& [k, v] : r.headers) res.insert(k, v);
  res.body() = std::move(r.body);
  res.keep_alive(keep_alive);
  res.prepare_payload();
  return res;
}

/// One peer connection. Lives on its stream's strand; owned by the server's
/// session set and by its pending operations.
class Session : public std::enable_shared_from_this<Session> {
public:
  Session(tcp::socket s, std::shared_ptr<PeerServer::Impl> server, std::unique_ptr<PeerServer::Impl::Slot> handshaking)
      : server_(std::move(server)),
        handshaking_(std::move(handshaking)),
        remote_(remote_of(s)),
        stream_(std::move(s), server_->tls, TlsRole::server),
        epoch_(server_->epoch.load()) {}

  /// After a credentials reload: closes the connection now if it is
  /// between requests, else once the request in progress is answered.
  void drop() {
    asio::post(stream_.get_executor(), [self = shared_from_this()] {
      if (!self->busy_) self->stream_.close();
    });
  }

  void start() {
    stream_.expires_after(server_->opts.handshake_timeout);
    stream_.async_handshake([self = shared_from_this()](error_code ec) {
      if (ec) {
        const Error why = self->stream_.last_error().value_or(make_error("tls_failed", ec.message()));
        {
          std::lock_guard lock(self->server_->mu);
          ++self->server_->counters.handshake_failures;
          ++self->server_->counters.handshake_failures_by_reason[why.code];
        }
        if (const auto& report = self->server_->opts.on_handshake_failure) report(self->remote_, why);
        return self->finish();
      }
      self->handshaking_.reset();
      self->take_facility_share();
      self->read_request(self->server_->opts.request_timeout);
    });
  }
  void abort() { stream_.close(); }

private:
  /// A facility's connection counts against its share; one beyond it is
  /// answered at its first request and closed.
  void take_facility_share() {
    const auto& peer = *stream_.peer();
    if (peer.kind != PeerIdentity::Kind::facility) return;
    std::lock_guard lock(server_->mu);
    share_ = server_->take(&PeerServer::Impl::per_facility, peer.uri(), server_->opts.max_connections_per_facility);
    if (!share_) {
      over_share_ = true;
      ++server_->counters.over_facility_limit;
    }
  }

  void read_request(std::chrono::milliseconds wait) {
    busy_ = false;
    if (epoch_ != server_->epoch.load()) return shutdown();  // validated under old credentials
    stream_.expires_after(wait);
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(server_->opts.max_header_bytes));
    parser_->body_limit(server_->opts.max_body_bytes);
    http::async_read(stream_, buffer_, *parser_, [self = shared_from_this()](error_code ec, std::size_t n) {
      self->count(&PeerServerStats::bytes_received, n);
      self->on_request(ec);
    });
  }

  void on_request(error_code ec) {
    if (ec == http::error::end_of_stream || ec == asio::error::eof) return shutdown();
    if (ec == http::error::body_limit) return reply_error(413, "payload_too_large", "request body too large");
    if (ec == http::error::header_limit) return reply_error(431, "headers_too_large", "request headers too large");
    if (ec == http::error::bad_method || ec == http::error::bad_target || ec == http::error::bad_version ||
        ec == http::error::bad_field || ec == http::error::bad_value || ec == http::error::bad_chunk ||
        ec == http::error::bad_content_length)
      return reply_error(400, "bad_request", "malformed HTTP request");
    if (ec) return finish();
    busy_ = true;
    Request req = parser_->release();
    const bool facility = stream_.peer()->kind == PeerIdentity::Kind::facility;
    long retry_after = 0;
    {
      std::lock_guard lock(server_->mu);
      ++server_->counters.requests;
      if (facility && !over_share_) retry_after = server_->admit(stream_.peer()->uri());
    }
    if (over_share_) {
      auto res = PeerResponse::error(503, "too_many_connections",
                                     "this facility already holds " +
                                         std::to_string(server_->opts.max_connections_per_facility) +
                                         " connections to this gateway; reuse them");
      res.headers.emplace_back("Retry-After", "1");
      return write(to_beast(std::move(res), req.version(), false));
    }
    if (retry_after > 0) {
      auto res = PeerResponse::error(429, "rate_limited",
                                     "this facility exceeds its share of requests to this gateway; retry later");
      res.headers.emplace_back("Retry-After", std::to_string(retry_after));
      return write(to_beast(std::move(res), req.version(), req.keep_alive()));
    }
    PeerRequest pr;
    pr.method = std::string(req.method_string());
    pr.target = std::string(req.target());
    const auto q = pr.target.find('?');
    pr.path = pr.target.substr(0, q);
    if (q != std::string::npos) pr.query = pr.target.substr(q + 1);
    for (const auto& f : req) pr.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
    pr.body = std::move(req.body());
    pr.peer = *stream_.peer();
    const auto match = match_route(server_->routes, pr.method, pr.path, pr.peer);
    if (!match.refusal && server_->opts.track_request) {
      std::weak_ptr<Session> weak = weak_from_this();
      in_flight_ = server_->opts.track_request(pr, [weak] {
        if (auto s = weak.lock()) asio::post(s->stream_.get_executor(), [s] { s->stream_.close(); });
      });
    }
    PeerResponse out;
    if (match.refusal) {
      out = *match.refusal;
      if (out.status == 403) {
        std::lock_guard lock(server_->mu);
        ++server_->counters.forbidden;
      }
    } else if (match.route->async_handler) {
      // The reply may come from any thread; a guard answers 500 if the
      // handler drops it unanswered.
      struct Guard {
        Guard(std::shared_ptr<Session> s, unsigned v, bool k) : self(std::move(s)), version(v), keep_alive(k) {}
        Guard(const Guard&) = delete;
        Guard& operator=(const Guard&) = delete;
        std::shared_ptr<Session> self;
        unsigned version;
        bool keep_alive;
        std::atomic<bool> done{false};
        void send(PeerResponse r) {
          if (done.exchange(true)) return;
          auto keep = std::move(r.keep);
          auto body = std::move(r.stream);
          asio::dispatch(self->stream_.get_executor(),
                         [s = self, res = to_beast(std::move(r), version, keep_alive), keep = std::move(keep),
                          body = std::move(body)]() mutable {
                           if (body) return s->write_stream(std::move(res), std::move(body), std::move(keep));
                           s->write(std::move(res), std::move(keep));
                         });
        }
        ~Guard() {
          send(PeerResponse::error(500, "internal_error", "the request was not answered"));
        }
      };
      auto guard = std::make_shared<Guard>(shared_from_this(), req.version(), req.keep_alive());
      try {
        match.route->async_handler(pr, [guard](PeerResponse r) { guard->send(std::move(r)); });
      } catch (const std::exception&) {
        guard->send(PeerResponse::error(500, "internal_error", "the request could not be handled"));
      }
      return;
    } else {
      try {
        out = match.route->handler(pr);
      } catch (const std::exception&) {
        out = PeerResponse::error(500, "internal_error", "the request could not be handled");
      }
    }
    auto keep = std::move(out.keep);
    auto body = std::move(out.stream);
    auto res = to_beast(std::move(out), req.version(), req.keep_alive());
    if (body) return write_stream(std::move(res), std::move(body), std::move(keep));
    write(std::move(res), std::move(keep));
  }

  void reply_error(unsigned status, std::string_view code, std::string_view message) {
    write(to_beast(PeerResponse::error(status, code, message), 11, false));
  }

  void write(Response res, std::shared_ptr<const void> keep_until_written = {}) {
    response_.emplace(std::move(res));
    response_keep_ = std::move(keep_until_written);
    http::async_write(stream_, *response_, [self = shared_from_this()](error_code ec, std::size_t n) {
      self->count(&PeerServerStats::bytes_sent, n);
      const bool keep = self->response_->keep_alive();
      self->response_.reset();
      self->response_keep_.reset();
      self->in_flight_.reset();
      if (ec) return self->finish();
      if (!keep) return self->shutdown();
      self->read_request(self->server_->opts.idle_timeout);
    });
  }

  /// `res`: the header (its empty body is ignored); the body from `body`.
  void write_stream(Response res, std::shared_ptr<BodyStream> body, std::shared_ptr<const void> keep) {
    const bool keep_alive = res.keep_alive();
    response_keep_ = std::move(keep);
    StreamedWrite<TlsStream>::start(
        stream_, std::move(res.base()), std::move(body),
        [self = shared_from_this()] { self->stream_.expires_after(self->server_->opts.request_timeout); },
        [self = shared_from_this(), keep_alive](bool ok, std::uint64_t n) {
          self->count(&PeerServerStats::bytes_sent, n);
          self->response_keep_.reset();
          self->in_flight_.reset();
          if (!ok) return self->finish();
          if (!keep_alive) return self->shutdown();
          self->read_request(self->server_->opts.idle_timeout);
        });
  }

  void count(std::uint64_t PeerServerStats::*field, std::size_t n) {
    if (n == 0) return;
    std::lock_guard lock(server_->mu);
    server_->counters.*field += n;
  }

  void shutdown() {
    stream_.expires_after(std::chrono::seconds(2));
    stream_.async_shutdown([self = shared_from_this()](error_code) { self->finish(); });
  }

  void finish() {
    in_flight_.reset();
    response_keep_.reset();
    stream_.close();
    // Released after the lock: the last reference may go with it, and the
    // session's shares (Slot) take the lock to give themselves back.
    const auto keep = shared_from_this();
    std::function<void()> drained;
    {
      std::lock_guard lock(server_->mu);
      server_->sessions.erase(keep);
      if (server_->sessions.empty()) drained = std::move(server_->drained);
    }
    if (drained) drained();
  }

  static std::string remote_of(const tcp::socket& s) {
    error_code ec;
    const auto ep = s.remote_endpoint(ec);
    return ec ? std::string("unknown") : ep.address().to_string() + ":" + std::to_string(ep.port());
  }

  std::shared_ptr<PeerServer::Impl> server_;
  std::unique_ptr<PeerServer::Impl::Slot> handshaking_;  ///< its address's handshake share, until it is done
  std::unique_ptr<PeerServer::Impl::Slot> share_;        ///< its facility's connection share
  bool over_share_ = false;                              ///< beyond its facility's share (strand only)
  std::string remote_;
  TlsStream stream_;
  boost::beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::optional<Response> response_;
  std::shared_ptr<const void> response_keep_;  // released once response_ is written
  const std::uint64_t epoch_;  ///< the server epoch its handshake was validated in
  bool busy_ = false;          ///< a request is being handled (strand only)
  std::shared_ptr<void> in_flight_;  // the request's registration with track_request, if any
};

std::string address_of(const tcp::socket& s) {
  error_code ec;
  const auto ep = s.remote_endpoint(ec);
  return ec ? std::string("unknown") : ep.address().to_string();
}

}  // namespace

void PeerServer::Impl::accept_loop() {
  // Each socket gets the plain io_context executor; its TlsStream makes
  // the connection's own strand.
  acceptor.async_accept(io.get_executor(),
                        [self = shared_from_this()](error_code ec, tcp::socket sock) {
                          if (ec == asio::error::operation_aborted) return;
                          std::shared_ptr<Session> session;
                          {
                            std::lock_guard lock(self->mu);
                            if (self->stopped || self->draining) return;
                            if (!ec) {
                              std::unique_ptr<Impl::Slot> slot;
                              auto refuse = [&sock](std::uint64_t& counter) {
                                ++counter;
                                error_code ig;
                                sock.close(ig);
                              };
                              if (self->sessions.size() >= self->opts.max_connections) {
                                refuse(self->counters.over_capacity);
                              } else if (slot = self->take(&Impl::handshaking, address_of(sock),
                                                           self->opts.max_handshakes_per_address);
                                         !slot) {
                                refuse(self->counters.over_address_limit);
                              } else {
                                ++self->counters.accepted;
                                error_code nd;
                                sock.set_option(tcp::no_delay(true), nd);
                                session = std::make_shared<Session>(std::move(sock), self, std::move(slot));
                                self->sessions.insert(session);
                              }
                            }
                          }
                          if (session) session->start();
                          self->accept_loop();
                        });
}

PeerServer::PeerServer(asio::io_context& ioc, std::shared_ptr<TlsContext> tls, PeerServerOptions opts,
                       std::vector<PeerRoute> routes)
    : impl_(std::make_shared<Impl>(ioc, std::move(tls), std::move(opts), std::move(routes))) {}

PeerServer::~PeerServer() { stop(); }

Status PeerServer::start() {
  error_code ec;
  const auto addr = asio::ip::make_address(impl_->opts.address, ec);
  if (ec) return make_error("bad_address", "peer listen address '" + impl_->opts.address + "' is not an IP address");
  const tcp::endpoint ep(addr, impl_->opts.port);
  auto& a = impl_->acceptor;
  a.open(ep.protocol(), ec);
  if (!ec) a.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) a.bind(ep, ec);
  if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return make_error("bind_failed", "cannot listen on " + impl_->opts.address + ":" +
                                               std::to_string(impl_->opts.port) + ": " + ec.message());
  asio::dispatch(a.get_executor(), [self = impl_] { self->accept_loop(); });
  return {};
}

void PeerServer::stop() {
  std::set<std::shared_ptr<Session>> open;
  {
    std::lock_guard lock(impl_->mu);
    if (impl_->stopped) return;
    impl_->stopped = true;
    open.swap(impl_->sessions);
  }
  asio::post(impl_->acceptor.get_executor(), [self = impl_] {
    error_code ig;
    self->acceptor.close(ig);
  });
  for (const auto& s : open) s->abort();
}

void PeerServer::drain(std::function<void()> done) {
  std::vector<std::shared_ptr<Session>> open;
  {
    std::lock_guard lock(impl_->mu);
    if (impl_->stopped || impl_->draining) return;
    impl_->draining = true;
    ++impl_->epoch;  // a busy connection closes once its answer is written
    open.assign(impl_->sessions.begin(), impl_->sessions.end());
    if (open.empty()) {
      asio::post(impl_->io, std::move(done));
    } else {
      impl_->drained = std::move(done);
    }
  }
  asio::post(impl_->acceptor.get_executor(), [self = impl_] {
    error_code ig;
    self->acceptor.close(ig);
  });
  for (const auto& s : open) s->drop();
}

void PeerServer::drop_connections() {
  std::vector<std::shared_ptr<Session>> open;
  {
    std::lock_guard lock(impl_->mu);
    ++impl_->epoch;
    open.assign(impl_->sessions.begin(), impl_->sessions.end());
  }
  for (const auto& s : open) s->drop();
}

std::uint16_t PeerServer::port() const {
  error_code ec;
  return impl_->acceptor.local_endpoint(ec).port();
}

std::size_t PeerServer::active_connections() const {
  std::lock_guard lock(impl_->mu);
  return impl_->sessions.size();
}

PeerServerStats PeerServer::stats() const {
  std::lock_guard lock(impl_->mu);
  PeerServerStats s = impl_->counters;
  s.open = impl_->sessions.size();
  return s;
}

}  // namespace hiegate::transport
