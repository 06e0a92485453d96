// Private: the tunnel engine's shared state and its per-connection object.
//
// Locking: Impl::mu guards the tunnel maps, the connection registry, the
// per-peer counts and the engine counters. A Conn's own state lives on its
// strand only; other threads reach it through Conn::abort (which posts).
#pragma once

#include <boost/asio/basic_socket_acceptor.hpp>
#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <atomic>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "hiegate/transport/tls_stream.hpp"
#include "hiegate/transport/tunnel.hpp"
#include "tunnel_wire.hpp"

namespace hiegate::transport::tunnel_detail {

namespace asio = boost::asio;
using Strand = asio::strand<asio::io_context::executor_type>;
using PlainSocket = asio::generic::stream_protocol::socket;
using PlainAcceptor = asio::basic_socket_acceptor<asio::generic::stream_protocol>;

[[nodiscard]] asio::generic::stream_protocol::endpoint to_generic(const LocalEndpoint& e);

/// One local listener of an outbound tunnel; a changed tunnel that keeps
/// its address keeps its listener. The acceptor is used on `strand` only.
struct Listener : std::enable_shared_from_this<Listener> {
  explicit Listener(asio::io_context& io) : strand(asio::make_strand(io)), acceptor(strand) {}
  Strand strand;
  PlainAcceptor acceptor;
  LocalEndpoint bound;
  unsigned long inode = 0;  ///< of the Unix socket file we created
  /// Thread-safe; removes the Unix socket file if still ours. The future is
  /// ready once the acceptor is closed (on its strand).
  std::future<void> close();
};

/// A configured tunnel: settings fixed at creation, counters atomic.
struct TunnelState {
  TunnelDirection direction = TunnelDirection::outbound;
  std::string name;
  OutboundTunnel out;  ///< direction == outbound
  InboundService in;   ///< direction == inbound
  std::size_t max_connections = 0;
  std::unique_ptr<tunnel_wire::RateLimiter> limiter;  ///< null: unlimited
  std::shared_ptr<Listener> listener;                 ///< outbound only
  std::atomic<std::uint64_t> active{0}, accepted{0}, refused{0}, to_peer{0}, from_peer{0};
};

class Conn;

}  // namespace hiegate::transport::tunnel_detail

namespace hiegate::transport {

struct TunnelEngine::Impl : std::enable_shared_from_this<TunnelEngine::Impl> {
  using State = tunnel_detail::TunnelState;
  Impl(boost::asio::io_context& ioc, std::shared_ptr<TlsContext> t, TunnelHooks h)
      : io(ioc), tls(std::move(t)), hooks(std::move(h)), acceptor(boost::asio::make_strand(ioc)) {}

  [[nodiscard]] bool permitted(TunnelDirection d) const { return hooks.permitted && hooks.permitted(d); }
  [[nodiscard]] bool facility_permitted(const std::string& f) const {
    return !hooks.facility_permitted || hooks.facility_permitted(f);
  }
  [[nodiscard]] SystemTime now() const { return hooks.clock ? hooks.clock() : std::chrono::system_clock::now(); }

  /// Registers a connection; returns its id (0 after stop: refuse it).
  std::uint64_t enroll(const std::shared_ptr<tunnel_detail::Conn>& c, TunnelDirection dir);
  /// Admits connection `id` to `tunnel` for `facility`: "" or a refusal code.
  std::string admit(std::uint64_t id, const std::shared_ptr<State>& tunnel, const std::string& facility);
  /// Forgets connection `id`, releasing what admit() took.
  void release(std::uint64_t id);
  std::shared_ptr<State> inbound_service(const std::string& name) const;
  void count_handshake_failure();
  void count_unknown_service();
  /// Aborts the connections selected by `pick` (outside the lock).
  template <class Pick>
  void abort_where(Pick pick, const std::string& code, const std::string& detail);

  void accept_inbound();
  /// Accepts for tunnel `name` while `l` is its listener.
  void accept_outbound(std::shared_ptr<tunnel_detail::Listener> l, std::string name);

  boost::asio::io_context& io;
  std::shared_ptr<TlsContext> tls;
  TunnelHooks hooks;
  TunnelLimits limits;
  boost::asio::ip::tcp::acceptor acceptor;  // inbound tunnel port

  struct Entry {
    std::weak_ptr<tunnel_detail::Conn> conn;
    TunnelDirection direction;
    std::shared_ptr<State> tunnel;  ///< set by admit
    std::string facility;           ///< set by admit
  };
  mutable std::mutex mu;
  std::map<std::string, std::shared_ptr<State>> outbound, inbound;
  std::map<std::uint64_t, Entry> conns;
  std::map<std::pair<TunnelDirection, std::string>, std::size_t> per_peer;
  std::uint64_t next_id = 1;
  std::uint64_t handshake_failures = 0, unknown_services = 0;
  bool stopped = false;
};

}  // namespace hiegate::transport

namespace hiegate::transport::tunnel_detail {

/// One tunnel connection, either role, from accept to audit. Owned by its
/// pending operations; the engine holds it weakly. All members on strand_.
class Conn : public std::enable_shared_from_this<Conn> {
public:
  using Impl = TunnelEngine::Impl;
  /// Outbound: `plain` is the accepted local client.
  Conn(std::shared_ptr<Impl> engine, std::shared_ptr<TunnelState> tunnel, PlainSocket plain);
  /// Inbound: `sock` is the accepted TCP connection from a remote gateway.
  Conn(std::shared_ptr<Impl> engine, asio::ip::tcp::socket sock);

  void start();
  /// Thread-safe: ends the connection with `code` (audited).
  void abort(std::string code, std::string detail);

private:
  // tunnel_out.cpp / tunnel_in.cpp: setting up
  void out_start();
  void out_connect(const std::string& host, const std::string& port);
  void out_handshake();
  void out_hello();
  void in_start();
  void in_hello();
  void in_refuse(const std::string& code, const std::string& detail);
  void in_connect_backend();
  void in_reply_ok();
  void arm_setup_deadline();
  /// Runs `next` on the strand once hooks.opened recorded the connection;
  /// otherwise ends it (inbound: refused to the caller) as audit_unavailable.
  void when_recorded(std::function<void()> next);
  void out_dial();
  [[nodiscard]] TunnelRecord record(std::string code, std::string detail) const;
  // tunnel_relay.cpp: carrying bytes
  void relay(std::string leftover);
  void up_read();
  void up_send(std::size_t n);
  void up_fin();
  void down_read();
  void down_process();
  void throttle(asio::steady_timer& t, std::size_t n, std::function<void()> go);
  void arm_activity_timer();
  void maybe_finish();
  void fail_io(bool tls_side, const boost::system::error_code& ec);
  void end(std::string code, std::string detail);

  std::shared_ptr<Impl> engine_;
  Strand strand_;
  TunnelDirection direction_;
  std::shared_ptr<TunnelState> tunnel_;
  std::uint64_t id_ = 0;
  bool admitted_ = false;
  // Outbound: the dial and TLS handshake go on while the opening record is
  // made durable; the service line waits for both (two steps to go).
  int before_hello_ = 2;
  std::string facility_;
  std::string service_;
  PlainSocket plain_;
  std::optional<asio::ip::tcp::socket> tcp_;  // before the TLS stream takes it
  std::optional<asio::ip::tcp::resolver> resolver_;
  std::optional<TlsStream> tls_;
  std::string line_;  // hello / reply line (and what followed it)
  std::string out_msg_;
  asio::steady_timer timer_, up_wait_, down_wait_;
  SystemTime started_{};
  std::chrono::steady_clock::time_point t0_, last_activity_;
  bool relaying_ = false, finished_ = false, up_done_ = false, down_done_ = false, closing_ = false;
  std::vector<std::uint8_t> up_buf_, down_buf_;
  std::size_t down_beg_ = 0, down_end_ = 0, down_left_ = 0;
  std::uint64_t to_peer_ = 0, from_peer_ = 0;
};

}  // namespace hiegate::transport::tunnel_detail
