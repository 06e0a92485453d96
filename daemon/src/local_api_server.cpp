#include "hiegate/daemon/local_api_server.hpp"

#include <sys/stat.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <limits>
#include <map>
#include <mutex>

#include "hiegate/crypto/encoding.hpp"
#include "hiegate/crypto/primitives.hpp"
#include "hiegate/daemon/events.hpp"
#include "hiegate/daemon/in_flight.hpp"
#include "hiegate/daemon/memory_budget.hpp"
#include "hiegate/transport/read_room.hpp"
#include "hiegate/transport/streamed_write.hpp"

namespace hiegate::daemon {

namespace net = boost::asio;
namespace beast = boost::beast;
using Clock = std::chrono::steady_clock;

namespace {

struct SessionBase {
  virtual ~SessionBase() = default;
  virtual void on_drain() = 0;     // any thread
  virtual void force_close() = 0;  // any thread
  /// A new order forbids the request's function (any thread): a response
  /// being written is cut; one not yet started may still be a refusal, so
  /// only a success answer is withheld (the connection is closed instead).
  virtual void cut() = 0;
};

bool valid_request_id(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
          c == '_' || c == '.')) {
      return false;
    }
  }
  return true;
}

// The client's X-Request-Id when it is a valid one, else a fresh one.
std::string request_id_for(std::string_view offered) {
  if (valid_request_id(offered)) return std::string(offered);
  std::array<std::uint8_t, 8> id{};
  crypto::pooled_random_bytes(id);
  return crypto::to_hex(id);
}

/// Returns the name of the matching token, or empty. Every configured hash is
/// compared (no early exit) in constant time.
std::string authenticate(const HttpRequest& req, const Config& cfg) {
  const auto it = req.find(http::field::authorization);
  if (it == req.end()) return {};
  std::string_view v = it->value();
  constexpr std::string_view scheme = "Bearer ";
  if (v.size() <= scheme.size() || v.size() > 1024 ||
      !beast::iequals(v.substr(0, scheme.size()), scheme)) {
    return {};
  }
  const auto digest = crypto::sha256(v.substr(scheme.size()));
  std::string matched;
  for (const auto& t : cfg.local_api.tokens) {
    if (crypto::equal_constant_time(digest, t.sha256) && matched.empty()) matched = t.name;
  }
  return matched;
}

}  // namespace

struct LocalApiServer::Impl : std::enable_shared_from_this<LocalApiServer::Impl> {
  explicit Impl(Deps d) : deps(std::move(d)), reject_timer(deps.ioc) {}

  Deps deps;
  std::vector<std::unique_ptr<net::ip::tcp::acceptor>> tcp;
  std::vector<std::unique_ptr<net::local::stream_protocol::acceptor>> unix_acceptors;
  std::vector<std::string> endpoints;
  std::string unix_path;
  net::steady_timer reject_timer;

  mutable std::mutex mu;
  std::map<SessionBase*, std::weak_ptr<SessionBase>> sessions;
  bool draining = false;
  std::function<void()> on_drained;

  void add(SessionBase* s, std::weak_ptr<SessionBase> w) {
    std::lock_guard lk(mu);
    sessions.emplace(s, std::move(w));
  }
  void remove(SessionBase* s) {
    std::function<void()> done;
    {
      std::lock_guard lk(mu);
      sessions.erase(s);
      if (draining && sessions.empty() && on_drained) done = std::move(on_drained);
    }
    if (done) net::post(deps.ioc, std::move(done));
  }
  [[nodiscard]] bool is_draining() const {
    std::lock_guard lk(mu);
    return draining;
  }

  template <class Acceptor>
  void accept(Acceptor& acc);
  template <class Socket>
  void reject(Socket sock);
};

namespace {

// Bodies up to this size are not counted in the memory budget: at most one
// per connection, they are bounded by max_connections.
constexpr std::uint64_t kSmallBody = 64 * 1024;
constexpr std::string_view kRawBody = "application/octet-stream";

template <class Protocol>
class Session final : public SessionBase,
                      public std::enable_shared_from_this<Session<Protocol>> {
public:
  using Socket = typename Protocol::socket;

  Session(Socket sock, std::shared_ptr<LocalApiServer::Impl> server)
      : sock_(std::move(sock)), timer_(sock_.get_executor()), server_(std::move(server)) {
    server_->deps.metrics.connection_opened();
  }
  ~Session() override {
    server_->deps.metrics.connection_closed();
    server_->remove(this);
  }

  void start() {
    server_->add(this, this->weak_from_this());
    wait_request();
  }

  void on_drain() override {
    net::dispatch(sock_.get_executor(), [self = this->shared_from_this()] {
      self->draining_ = true;
      if (self->state_ == State::idle) self->close();
    });
  }
  void force_close() override {
    net::dispatch(sock_.get_executor(), [self = this->shared_from_this()] { self->close(); });
  }

  void cut() override {
    net::dispatch(sock_.get_executor(), [self = this->shared_from_this()] {
      if (self->state_ == State::handling) {
        self->cut_pending_ = true;
      } else if (!(self->state_ == State::writing && self->res_ && self->res_->result_int() >= 400)) {
        self->close();  // a refusal being written is left to finish
      }
    });
  }

private:
  enum class State { idle, reading, handling, writing, closed };

  // --- timeouts: a generation counter makes a stale expiry harmless.
  void arm(Millis d) {
    const auto gen = ++timer_gen_;
    timed_out_ = false;
    timer_.expires_after(d);
    timer_.async_wait([self = this->shared_from_this(), gen](beast::error_code ec) {
      if (ec || gen != self->timer_gen_) return;
      self->timed_out_ = true;
      beast::error_code ignored;
      self->sock_.cancel(ignored);
    });
  }
  void disarm() {
    ++timer_gen_;
    timer_.cancel();
  }

  void wait_request() {
    state_ = State::idle;
    cfg_ = server_->deps.config();
    if (draining_ || server_->is_draining()) return close();
    transport::trim_read_room(buf_);
    if (buf_.size() > 0) return read_header();
    arm(cfg_->local_api.idle_timeout);
    sock_.async_read_some(buf_.prepare(1024),
                          [self = this->shared_from_this()](beast::error_code ec, std::size_t n) {
                            self->disarm();
                            if (ec) return self->close();
                            self->buf_.commit(n);
                            self->read_header();
                          });
  }

  void read_header() {
    state_ = State::reading;
    started_ = Clock::now();
    route_label_ = "unmatched";
    // The last request's streamed body, if any, is over: no read is pending.
    stream_.reset();
    streamed_ = false;
    continue_pending_ = false;
    std::string().swap(window_);
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(cfg_->local_api.max_header_bytes));
    // The body limit is applied after authentication (on_header), so that an
    // unauthenticated client learns nothing but 401.
    parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
    arm(cfg_->local_api.request_timeout);
    http::async_read_header(sock_, buf_, *parser_,
                            [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                              self->on_header(ec);
                            });
  }

  void on_header(beast::error_code ec) {
    if (ec) {
      disarm();
      return fail_read(ec);
    }
    const HttpRequest& req = parser_->get();
    const std::string_view target = req.target();
    const auto qpos = target.find('?');
    const std::string_view path = target.substr(0, qpos);
    match_ = server_->deps.router.match(req.method(), path);
    if (match_.route == nullptr) {
      disarm();
      keep_alive_ = parser_->is_done() && req.keep_alive();
      if (match_.path_known) {
        return respond(error_response(http::status::method_not_allowed, "method_not_allowed",
                                      "this method is not allowed on this resource"));
      }
      return respond(error_response(http::status::not_found, "not_found", "no such resource"));
    }
    route_label_ = match_.route->pattern;
    if (match_.route->authenticated) {
      token_name_ = authenticate(req, *cfg_);
      if (token_name_.empty()) {
        disarm();
        keep_alive_ = parser_->is_done() && req.keep_alive();
        server_->deps.log.log(Level::notice, events::kAuthFailed,
                              "local API request without a valid bearer token",
                              {{"ROUTE", route_label_}});
        auto res = error_response(http::status::unauthorized, "unauthorized",
                                  "a valid bearer token is required");
        res.set(http::field::www_authenticate, "Bearer realm=\"hiegate\"");
        return respond(std::move(res));
      }
    }
    // A raw body of a streamed route is read by its handler, a window at a
    // time, and so is bounded by the largest document instead.
    streamed_ = match_.route->streams_raw &&
                beast::iequals(req[http::field::content_type].substr(0, kRawBody.size()), kRawBody);
    const std::uint64_t max_body = streamed_ ? cfg_->local_api.max_document_bytes : cfg_->local_api.max_body_bytes;
    if (const auto len = parser_->content_length(); len && *len > max_body) {
      disarm();
      keep_alive_ = false;
      return respond(error_response(http::status::payload_too_large, "payload_too_large",
                                    "the request body is larger than allowed"));
    }
    parser_->body_limit(max_body);
    if (!streamed_ && !hold_body()) {
      disarm();
      keep_alive_ = false;  // the body stays unread
      return respond(memory_full_response());
    }
    const bool expects_continue = beast::iequals(req[http::field::expect], "100-continue");
    if (parser_->is_done() || streamed_) {
      // A streamed body's "100 Continue" waits for its handler's first
      // read: a refusal is then answered before the client sends anything.
      continue_pending_ = streamed_ && expects_continue && !parser_->is_done();
      disarm();
      return dispatch();
    }
    if (expects_continue) {
      return write_continue([self = this->shared_from_this()] { self->read_body(); });
    }
    read_body();
  }

  template <class Then>
  void write_continue(Then then) {
    auto cont = std::make_shared<HttpResponse>(http::status::continue_, 11);
    http::async_write(sock_, *cont,
                      [self = this->shared_from_this(), cont, then = std::move(then)](beast::error_code wec,
                                                                                     std::size_t) mutable {
                        if (wec) {
                          self->disarm();
                          return self->close();
                        }
                        then();
                      });
  }

  // --- a streamed raw body (Router::add_streamed), read for its handler.
  class StreamedBody final : public BodyReader {
  public:
    explicit StreamedBody(std::shared_ptr<Session> s) : s_(std::move(s)) {}
    void read(Piece piece) override {
      net::dispatch(s_->sock_.get_executor(),
                    [s = s_, piece = std::move(piece)]() mutable { s->read_stream(std::move(piece)); });
    }

  private:
    std::shared_ptr<Session> s_;
  };

  void read_stream(BodyReader::Piece piece) {
    if (state_ != State::handling) {
      return piece(make_error("connection_closed", "the request was answered or its connection closed"));
    }
    if (!stream_ || stream_->is_done()) return piece(std::string());
    if (continue_pending_) {
      continue_pending_ = false;
      arm(cfg_->local_api.request_timeout);
      return write_continue([self = this->shared_from_this(), piece = std::move(piece)]() mutable {
        self->disarm();
        self->read_stream(std::move(piece));
      });
    }
    window_.resize(kSmallBody);
    auto& body = stream_->get().body();
    body.data = window_.data();
    body.size = window_.size();
    body.more = true;
    // Each window gets the whole request timeout: a large upload is cut
    // only by a client that stops sending, not by its size.
    arm(cfg_->local_api.request_timeout);
    http::async_read_some(sock_, buf_, *stream_,
                          [self = this->shared_from_this(), piece = std::move(piece)](beast::error_code ec,
                                                                                      std::size_t) mutable {
                            self->disarm();
                            if (ec == http::error::need_buffer) ec = {};
                            if (ec || self->state_ != State::handling) {
                              self->keep_alive_ = false;
                              return piece(self->stream_error(ec));
                            }
                            const std::size_t n = self->window_.size() - self->stream_->get().body().size;
                            if (n == 0 && !self->stream_->is_done()) return self->read_stream(std::move(piece));
                            piece(std::string(self->window_.data(), n));
                          });
  }

  Error stream_error(beast::error_code ec) const {
    if (state_ != State::handling) return make_error("connection_closed", "the connection closed");
    if (timed_out_) return make_error("request_timeout", "the request body did not arrive in time");
    if (ec == http::error::body_limit) return make_error("payload_too_large", "the request body is too large");
    if (ec == http::error::end_of_stream || ec == net::error::eof || ec == net::error::connection_reset ||
        ec == net::error::operation_aborted || ec == http::error::partial_message) {
      return make_error("connection_closed", "the client closed the connection before the end of the body");
    }
    return make_error("bad_request", ec.message());
  }

  /// Counts a large body in the memory budget before it is read (a body
  /// of unknown length as the largest allowed); false: it does not fit now.
  bool hold_body() {
    if (server_->deps.memory == nullptr || parser_->is_done()) return true;
    const auto len = parser_->content_length();
    if (len && *len <= kSmallBody) return true;
    body_hold_ = server_->deps.memory->try_hold(len ? *len : cfg_->local_api.max_body_bytes);
    return body_hold_ != nullptr;
  }

  void read_body() {
    transport::make_read_room(buf_, parser_->content_length().value_or(transport::kReadRoom));
    http::async_read(sock_, buf_, *parser_,
                     [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                       self->disarm();
                       if (ec) return self->fail_read(ec);
                       self->dispatch();
                     });
  }

  void fail_read(beast::error_code ec) {
    keep_alive_ = false;
    if (timed_out_) {
      return respond(error_response(http::status::request_timeout, "request_timeout",
                                    "the request was not received in time"));
    }
    if (ec == http::error::header_limit) {
      return respond(error_response(http::status::request_header_fields_too_large,
                                    "headers_too_large", "the request headers are too large"));
    }
    if (ec == http::error::body_limit) {
      return respond(error_response(http::status::payload_too_large, "payload_too_large",
                                    "the request body is larger than allowed"));
    }
    if (ec == http::error::end_of_stream || ec == net::error::eof ||
        ec == net::error::connection_reset || ec == net::error::operation_aborted ||
        ec == http::error::partial_message) {
      return close();
    }
    server_->deps.metrics.request_done(route_label_, 400, 0);
    return respond(error_response(http::status::bad_request, "bad_request",
                                  "the request is not valid HTTP/1.1"),
                   nullptr, /*count=*/false);
  }

  void dispatch() {
    state_ = State::handling;
    ApiRequest req;
    if (streamed_) {
      // The header is complete and no byte of the body was parsed: the
      // parser takes a window-sized body from here on.
      const auto limit = cfg_->local_api.max_document_bytes;
      stream_.emplace(std::move(*parser_));
      stream_->body_limit(limit);
      req.msg = HttpRequest(stream_->get().base());
      req.body = std::make_shared<StreamedBody>(this->shared_from_this());
    } else {
      req.msg = parser_->release();
    }
    parser_.reset();
    req.route = route_label_;
    req.params = std::move(match_.params);
    const std::string_view target = req.msg.target();
    if (const auto q = target.find('?'); q != std::string_view::npos) {
      req.query = std::string(target.substr(q + 1));
    }
    req.request_id = request_id_for(req.msg["X-Request-Id"]);
    request_id_ = req.request_id;
    req.token_name = token_name_;
    req.config = cfg_;
    req.started = started_;
    keep_ = req.keep;
    keep_alive_ = req.msg.keep_alive();
    Responder responder([self = this->shared_from_this()](HttpResponse res,
                                                          std::shared_ptr<transport::BodyStream> body) {
      net::dispatch(self->sock_.get_executor(), [self, r = std::move(res), b = std::move(body)]() mutable {
        self->respond(std::move(r), std::move(b));
      });
    });
    try {
      match_.route->handler(req, std::move(responder));
    } catch (const std::exception& e) {
      server_->deps.log.log(Level::error, events::kInternalError, "request handler failed",
                            {{"ROUTE", route_label_}, {"ERROR", e.what()}});
      // The Responder, if still unsent, answers 500 from its destructor.
    }
    if (req.function && server_->deps.in_flight != nullptr && state_ != State::closed) {
      // Held until the response is written: a slow download of a document
      // stays cuttable to its last byte.
      std::weak_ptr<SessionBase> weak = this->weak_from_this();
      in_flight_ = server_->deps.in_flight->hold(*req.function, [weak] {
        if (auto s = weak.lock()) s->cut();
      });
    }
  }

  void respond(HttpResponse res, std::shared_ptr<transport::BodyStream> body = nullptr, bool count = true) {
    if (state_ == State::closed || state_ == State::writing) return;
    if (cut_pending_ && res.result_int() < 400) return close();  // forbidden since it started
    cut_pending_ = false;
    // A streamed body left unread ends the connection with this answer.
    if (streamed_ && (!stream_ || !stream_->is_done())) keep_alive_ = false;
    const bool keep = keep_alive_ && !draining_ && !server_->is_draining();
    res.keep_alive(keep);
    // Every answer names its request, also one refused before its route ran
    // (unknown path, no token, too large, not HTTP).
    if (request_id_.empty()) {
      request_id_ = request_id_for(parser_ && parser_->is_header_done() ? parser_->get()["X-Request-Id"] : "");
    }
    res.set("X-Request-Id", request_id_);
    if (count) {
      const double secs = std::chrono::duration<double>(Clock::now() - started_).count();
      server_->deps.metrics.request_done(route_label_, res.result_int(), secs);
    }
    request_id_.clear();
    state_ = State::writing;
    auto written = [self = this->shared_from_this(), keep](bool ok) {
      self->disarm();
      self->res_.reset();
      self->in_flight_.reset();
      self->keep_.reset();
      self->body_hold_.reset();
      if (!ok || !keep) return self->close();
      self->wait_request();
    };
    if (body) {
      // Each piece gets the whole write timeout: a large document is cut
      // only by a client that stops reading, not by its size.
      transport::StreamedWrite<Socket>::start(
          sock_, std::move(res.base()), std::move(body),
          [self = this->shared_from_this()] { self->arm(self->cfg_->local_api.request_timeout); },
          [written](bool ok, std::uint64_t) { written(ok); });
      return;
    }
    res_ = std::make_shared<HttpResponse>(std::move(res));
    arm(cfg_->local_api.request_timeout);
    http::async_write(sock_, *res_, [written](beast::error_code ec, std::size_t) { written(!ec); });
  }

  void close() {
    if (state_ == State::closed) return;
    state_ = State::closed;
    in_flight_.reset();
    keep_.reset();
    body_hold_.reset();
    disarm();
    beast::error_code ignored;
    sock_.shutdown(net::socket_base::shutdown_both, ignored);
    sock_.close(ignored);
  }

  Socket sock_;
  net::steady_timer timer_;
  std::shared_ptr<LocalApiServer::Impl> server_;
  beast::flat_buffer buf_;
  std::optional<http::request_parser<http::string_body>> parser_;
  bool streamed_ = false;  // this request's raw body is read by its handler
  bool continue_pending_ = false;  // its client waits for "100 Continue"
  std::optional<http::request_parser<http::buffer_body>> stream_;  // its parser from the body on
  std::string window_;  // where the next piece of it is read
  Router::Match match_;
  ConfigPtr cfg_;
  State state_ = State::idle;
  std::uint64_t timer_gen_ = 0;
  bool timed_out_ = false;
  bool draining_ = false;
  bool keep_alive_ = true;
  bool cut_pending_ = false;  // an order forbade the request before its answer
  std::string route_label_;
  std::string token_name_;
  std::string request_id_;
  Clock::time_point started_;
  std::shared_ptr<HttpResponse> res_;
  std::shared_ptr<void> in_flight_;  // registration of the request in flight, if any
  std::shared_ptr<Keep> keep_;           // what the answer keeps until written
  std::shared_ptr<const void> body_hold_;  // the request body's place in the memory budget
};

// Written before the connection is closed, with the headers every answer has.
std::string overloaded_response() {
  static const std::string head = [] {
    const std::string body =
        "{\"error\":{\"code\":\"overloaded\",\"message\":\"too many connections; try again "
        "shortly\"}}\n";
    return "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json; charset=utf-8\r\n"
           "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n"
           "Retry-After: 1\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\n" + "\r\n" + body;
  }();
  const std::size_t end_of_headers = head.find("\r\n\r\n") + 2;
  return head.substr(0, end_of_headers) + "X-Request-Id: " + request_id_for("") + "\r\n" +
         head.substr(end_of_headers);
}

}  // namespace

template <class Socket>
void LocalApiServer::Impl::reject(Socket sock) {
  deps.metrics.connection_rejected();
  auto s = std::make_shared<Socket>(std::move(sock));
  auto res = std::make_shared<std::string>(overloaded_response());
  net::async_write(*s, net::buffer(*res),
                   [s, res](beast::error_code, std::size_t) {
                     beast::error_code ignored;
                     s->shutdown(net::socket_base::shutdown_both, ignored);
                     s->close(ignored);
                   });
}

template <class Acceptor>
void LocalApiServer::Impl::accept(Acceptor& acc) {
  using Protocol = typename Acceptor::protocol_type;
  acc.async_accept(
      net::make_strand(deps.ioc),
      [self = shared_from_this(), &acc](beast::error_code ec, typename Protocol::socket sock) {
        if (ec == net::error::operation_aborted || !acc.is_open()) return;
        if (ec) {
          // EMFILE and friends: back off instead of spinning.
          self->deps.log.log(Level::warning, events::kConnectionLimit, "accept failed",
                             {{"ERROR", ec.message()}});
          auto t = std::make_shared<net::steady_timer>(self->deps.ioc, std::chrono::milliseconds(100));
          t->async_wait([self, &acc, t](beast::error_code) {
            if (acc.is_open()) self->accept(acc);
          });
          return;
        }
        std::size_t count = 0;
        {
          std::lock_guard lk(self->mu);
          count = self->sessions.size();
        }
        const auto cfg = self->deps.config();
        if (count >= cfg->local_api.max_connections || self->is_draining()) {
          self->reject(std::move(sock));
        } else {
          if constexpr (std::is_same_v<Protocol, net::ip::tcp>) {
            // Answers go out as header and body writes: never hold the
            // second back waiting for the client's ACK of the first.
            beast::error_code ignored;
            sock.set_option(net::ip::tcp::no_delay(true), ignored);
          }
          std::make_shared<Session<Protocol>>(std::move(sock), self)->start();
        }
        self->accept(acc);
      });
}

LocalApiServer::LocalApiServer(Deps deps) : impl_(std::make_shared<Impl>(std::move(deps))) {}

LocalApiServer::~LocalApiServer() {
  beast::error_code ignored;
  for (auto& a : impl_->tcp) a->close(ignored);
  for (auto& a : impl_->unix_acceptors) a->close(ignored);
  if (!impl_->unix_path.empty()) ::unlink(impl_->unix_path.c_str());
}

namespace {

Status bind_unix(net::local::stream_protocol::acceptor& acc, const std::filesystem::path& path,
                 unsigned mode) {
  std::error_code fec;
  std::filesystem::create_directories(path.parent_path(), fec);
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return make_error("bind_failed", path.string() + " exists and is not a socket");
    }
    // A live socket means another gateway is running: never steal it.
    net::io_context probe;
    net::local::stream_protocol::socket s(probe);
    beast::error_code ec;
    s.connect(net::local::stream_protocol::endpoint(path.string()), ec);
    if (!ec) return make_error("bind_failed", path.string() + " is in use by another process");
    ::unlink(path.c_str());
  }
  beast::error_code ec;
  acc.open(net::local::stream_protocol(), ec);
  if (!ec) acc.bind(net::local::stream_protocol::endpoint(path.string()), ec);
  if (!ec) acc.listen(net::socket_base::max_listen_connections, ec);
  if (ec) return make_error("bind_failed", "cannot listen on " + path.string() + ": " + ec.message());
  if (::chmod(path.c_str(), mode) != 0) {
    return make_error("bind_failed", "cannot set the mode of " + path.string());
  }
  return {};
}

}  // namespace

Status LocalApiServer::start(const Config& cfg) {
  auto& im = *impl_;
  for (const auto& la : cfg.local_api.listen) {
    beast::error_code ec;
    const auto addr = net::ip::make_address(la.host, ec);
    if (ec || !addr.is_loopback()) {
      return make_error("bind_failed", "refusing to listen on non-loopback address " + la.to_string());
    }
    auto acc = std::make_unique<net::ip::tcp::acceptor>(net::make_strand(im.deps.ioc));
    const net::ip::tcp::endpoint ep(addr, la.port);
    acc->open(ep.protocol(), ec);
    if (!ec) acc->set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acc->bind(ep, ec);
    if (!ec) acc->listen(net::socket_base::max_listen_connections, ec);
    if (ec) return make_error("bind_failed", "cannot listen on " + la.to_string() + ": " + ec.message());
    const auto bound = acc->local_endpoint();
    im.endpoints.push_back(ListenAddress{bound.address().to_string(), bound.port()}.to_string());
    im.tcp.push_back(std::move(acc));
  }
  if (!cfg.local_api.unix_socket.empty()) {
    auto acc = std::make_unique<net::local::stream_protocol::acceptor>(net::make_strand(im.deps.ioc));
    if (auto st = bind_unix(*acc, cfg.local_api.unix_socket, cfg.local_api.unix_socket_mode); !st) {
      return st;
    }
    im.unix_path = cfg.local_api.unix_socket.string();
    im.endpoints.push_back("unix:" + im.unix_path);
    im.unix_acceptors.push_back(std::move(acc));
  }
  for (auto& a : im.tcp) im.accept(*a);
  for (auto& a : im.unix_acceptors) im.accept(*a);
  return {};
}

std::vector<std::string> LocalApiServer::endpoints() const { return impl_->endpoints; }

std::size_t LocalApiServer::connections() const {
  std::lock_guard lk(impl_->mu);
  return impl_->sessions.size();
}

void LocalApiServer::drain(std::function<void()> on_drained) {
  auto& im = *impl_;
  std::vector<std::shared_ptr<SessionBase>> live;
  std::function<void()> now;
  {
    std::lock_guard lk(im.mu);
    im.draining = true;
    for (auto& [p, w] : im.sessions) {
      if (auto s = w.lock()) live.push_back(std::move(s));
    }
    // Nothing to wait for: run it below, outside the lock.
    if (im.sessions.empty()) {
      now = std::move(on_drained);
    } else {
      im.on_drained = std::move(on_drained);
    }
  }
  for (auto& a : im.tcp) {
    net::post(a->get_executor(), [&acc = *a] {
      beast::error_code ignored;
      acc.close(ignored);
    });
  }
  for (auto& a : im.unix_acceptors) {
    net::post(a->get_executor(), [&acc = *a] {
      beast::error_code ignored;
      acc.close(ignored);
    });
  }
  for (auto& s : live) s->on_drain();
  if (now) net::post(im.deps.ioc, std::move(now));
}

void LocalApiServer::close_all() {
  std::vector<std::shared_ptr<SessionBase>> live;
  {
    std::lock_guard lk(impl_->mu);
    for (auto& [p, w] : impl_->sessions) {
      if (auto s = w.lock()) live.push_back(std::move(s));
    }
  }
  for (auto& s : live) s->force_close();
}

}  // namespace hiegate::daemon
