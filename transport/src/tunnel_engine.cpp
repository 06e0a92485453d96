// The tunnel engine: listeners, reconciling tunnels, the connection
// registry (caps, mode re-checks, stop) and the counters.
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <future>

#include "tunnel_impl.hpp"

namespace hiegate::transport {
namespace asio = boost::asio;
using boost::system::error_code;
using tunnel_detail::Conn;
using tunnel_detail::Listener;
using tunnel_detail::TunnelState;
using State = tunnel_detail::TunnelState;

// --- addresses ---

std::string LocalEndpoint::to_string() const {
  if (kind == Kind::unix_socket) return "unix:" + path;
  return (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

bool LocalEndpoint::is_loopback() const {
  if (kind == Kind::unix_socket) return true;
  error_code ec;
  const auto a = asio::ip::make_address(host, ec);
  return !ec && a.is_loopback();
}

Result<LocalEndpoint> parse_local_endpoint(std::string_view text) {
  LocalEndpoint e;
  if (text.starts_with("unix:")) {
    e.kind = LocalEndpoint::Kind::unix_socket;
    e.path = std::string(text.substr(5));
    if (e.path.empty() || e.path.front() != '/' || e.path.size() >= sizeof(sockaddr_un{}.sun_path))
      return make_error("bad_address", "a Unix socket needs an absolute path under 108 bytes");
    return e;
  }
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos) return make_error("bad_address", "expected IP:PORT, [IPv6]:PORT or unix:/path");
  std::string_view host = text.substr(0, colon);
  const std::string_view port = text.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  else if (host.find(':') != std::string_view::npos) return make_error("bad_address", "IPv6 addresses need brackets");
  error_code ec;
  asio::ip::make_address(std::string(host), ec);
  if (ec) return make_error("bad_address", "not a literal IP address: " + std::string(host));
  unsigned v = 0;
  const auto r = std::from_chars(port.data(), port.data() + port.size(), v);
  if (port.empty() || r.ec != std::errc() || r.ptr != port.data() + port.size() || v > 65535)
    return make_error("bad_address", "bad port: " + std::string(port));
  e.host = std::string(host);
  e.port = static_cast<std::uint16_t>(v);
  return e;
}

bool is_service_name(std::string_view n) noexcept {
  if (n.empty() || n.size() > 64) return false;
  const auto ok = [](char c, bool first) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (!first && (c == '.' || c == '_' || c == '-'));
  };
  for (std::size_t i = 0; i < n.size(); ++i)
    if (!ok(n[i], i == 0)) return false;
  return true;
}

namespace tunnel_detail {

asio::generic::stream_protocol::endpoint to_generic(const LocalEndpoint& e) {
  if (e.kind == LocalEndpoint::Kind::unix_socket) return asio::local::stream_protocol::endpoint(e.path);
  return asio::ip::tcp::endpoint(asio::ip::make_address(e.host), e.port);
}

std::future<void> Listener::close() {
  auto closed = std::make_shared<std::promise<void>>();
  auto done = closed->get_future();
  asio::post(strand, [self = shared_from_this(), closed] {
    error_code ig;
    self->acceptor.close(ig);
    closed->set_value();
  });
  struct stat st {};
  if (bound.kind == LocalEndpoint::Kind::unix_socket && ::lstat(bound.path.c_str(), &st) == 0 && st.st_ino == inode)
    ::unlink(bound.path.c_str());
  return done;
}

namespace {
/// Binds a listener for `ep`. A stale Unix socket file is replaced; any
/// other file at that path is an error.
Status bind_listener(Listener& l, const LocalEndpoint& ep) {
  error_code ec;
  if (ep.kind == LocalEndpoint::Kind::unix_socket) {
    struct stat st {};
    if (::lstat(ep.path.c_str(), &st) == 0) {
      if (!S_ISSOCK(st.st_mode)) return make_error("bind_failed", ep.to_string() + ": exists and is not a socket");
      ::unlink(ep.path.c_str());
    }
  }
  const auto gep = to_generic(ep);
  l.acceptor.open(gep.protocol(), ec);
  if (!ec && ep.kind == LocalEndpoint::Kind::tcp) l.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) l.acceptor.bind(gep, ec);
  if (!ec) l.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return make_error("bind_failed", ep.to_string() + ": " + ec.message());
  l.bound = ep;
  if (struct stat st {}; ep.kind == LocalEndpoint::Kind::unix_socket && ::lstat(ep.path.c_str(), &st) == 0)
    l.inode = st.st_ino;
  if (ep.kind == LocalEndpoint::Kind::tcp) {
    const auto got = l.acceptor.local_endpoint(ec);
    sockaddr_storage ss{};
    std::memcpy(&ss, got.data(), std::min<std::size_t>(got.size(), sizeof ss));
    l.bound.port = ss.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port)
                                            : ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  }
  return {};
}

Status check_outbound(const OutboundTunnel& t) {
  if (!is_service_name(t.name)) return make_error("bad_config", "bad tunnel name: " + t.name);
  if (!is_service_name(t.service)) return make_error("bad_config", "bad service name: " + t.service);
  if (!is_facility_code(t.facility)) return make_error("bad_config", "bad facility code: " + t.facility);
  if (!t.listen.is_loopback()) return make_error("bad_config", "tunnel " + t.name + " must listen on loopback or a Unix socket");
  if (t.max_connections == 0) return make_error("bad_config", "max_connections must be at least 1");
  return {};
}

Status check_inbound(const InboundService& s) {
  if (!is_service_name(s.service)) return make_error("bad_config", "bad service name: " + s.service);
  if (s.allow.empty()) return make_error("bad_config", "service " + s.service + " allows nobody");
  const bool star = std::find(s.allow.begin(), s.allow.end(), "*") != s.allow.end();
  if (star && s.allow.size() != 1) return make_error("bad_config", "\"*\" must stand alone in allow");
  if (!star)
    for (const auto& f : s.allow)
      if (!is_facility_code(f)) return make_error("bad_config", "bad facility code in allow: " + f);
  if (s.max_connections == 0) return make_error("bad_config", "max_connections must be at least 1");
  return {};
}

std::shared_ptr<TunnelState> make_state(TunnelDirection d, std::string name, std::size_t max, std::uint64_t bw) {
  auto st = std::make_shared<TunnelState>();
  st->direction = d;
  st->name = std::move(name);
  st->max_connections = max;
  if (bw > 0) st->limiter = std::make_unique<tunnel_wire::RateLimiter>(bw);
  return st;
}
}  // namespace
}  // namespace tunnel_detail

// --- the registry ---

std::uint64_t TunnelEngine::Impl::enroll(const std::shared_ptr<Conn>& c, TunnelDirection dir) {
  std::lock_guard lock(mu);
  if (stopped) return 0;
  const auto id = next_id++;
  conns.emplace(id, Entry{c, dir, nullptr, {}});
  return id;
}

std::string TunnelEngine::Impl::admit(std::uint64_t id, const std::shared_ptr<State>& tunnel, const std::string& facility) {
  std::lock_guard lock(mu);
  const auto it = conns.find(id);
  if (it == conns.end() || stopped) return "stopped";
  // A tunnel replaced or removed meanwhile no longer takes connections.
  const auto& live = tunnel->direction == TunnelDirection::outbound ? outbound : inbound;
  const auto cur = live.find(tunnel->name);
  if (cur == live.end() || cur->second != tunnel) return "removed";
  if (tunnel->active.load() >= tunnel->max_connections) return "over_capacity";
  auto& peer = per_peer[{tunnel->direction, facility}];
  if (peer >= limits.max_per_peer) return "over_capacity";
  ++peer;
  tunnel->active.fetch_add(1);
  it->second.tunnel = tunnel;
  it->second.facility = facility;
  return {};
}

void TunnelEngine::Impl::release(std::uint64_t id) {
  std::lock_guard lock(mu);
  const auto it = conns.find(id);
  if (it == conns.end()) return;
  if (const auto& t = it->second.tunnel) {
    t->active.fetch_sub(1);
    const auto p = per_peer.find({t->direction, it->second.facility});
    if (p != per_peer.end() && --p->second == 0) per_peer.erase(p);
  }
  conns.erase(it);
}

std::shared_ptr<TunnelState> TunnelEngine::Impl::inbound_service(const std::string& name) const {
  std::lock_guard lock(mu);
  const auto it = inbound.find(name);
  return it == inbound.end() ? nullptr : it->second;
}

void TunnelEngine::Impl::count_handshake_failure() {
  std::lock_guard lock(mu);
  ++handshake_failures;
}
void TunnelEngine::Impl::count_unknown_service() {
  std::lock_guard lock(mu);
  ++unknown_services;
}

template <class Pick>
void TunnelEngine::Impl::abort_where(Pick pick, const std::string& code, const std::string& detail) {
  std::vector<std::shared_ptr<Conn>> victims;
  {
    std::lock_guard lock(mu);
    for (const auto& [id, e] : conns)
      if (pick(e))
        if (auto c = e.conn.lock()) victims.push_back(std::move(c));
  }
  for (auto& c : victims) c->abort(code, detail);
}

// --- accepting ---

void TunnelEngine::Impl::accept_inbound() {
  acceptor.async_accept(asio::make_strand(io), [w = weak_from_this()](error_code ec, asio::ip::tcp::socket s) {
    auto self = w.lock();
    if (!self || ec == asio::error::operation_aborted || !self->acceptor.is_open()) return;
    if (!ec) std::make_shared<Conn>(self, std::move(s))->start();
    self->accept_inbound();
  });
}

void TunnelEngine::Impl::accept_outbound(std::shared_ptr<Listener> l, std::string name) {
  auto& acc = l->acceptor;
  acc.async_accept(asio::make_strand(io), asio::bind_executor(l->strand, [w = weak_from_this(), l, name](
                                                                             error_code ec, tunnel_detail::PlainSocket s) {
    auto self = w.lock();
    if (!self || ec == asio::error::operation_aborted || !l->acceptor.is_open()) return;
    std::shared_ptr<State> st;
    {
      std::lock_guard lock(self->mu);
      const auto it = self->outbound.find(name);
      if (it != self->outbound.end() && it->second->listener == l) st = it->second;
    }
    if (!st) return;  // the listener was retired; its socket closes with it
    if (!ec) std::make_shared<Conn>(self, st, std::move(s))->start();
    self->accept_outbound(l, name);
  }));
}

// --- the public face ---

TunnelEngine::TunnelEngine(asio::io_context& ioc, std::shared_ptr<TlsContext> tls, TunnelHooks hooks)
    : impl_(std::make_shared<Impl>(ioc, std::move(tls), std::move(hooks))) {}

TunnelEngine::~TunnelEngine() { stop(); }

Status TunnelEngine::start(TunnelLimits limits) {
  if (limits.max_per_peer == 0) return make_error("bad_config", "max_per_peer must be at least 1");
  impl_->limits = limits;
  if (!limits.listen) return {};
  error_code ec;
  const auto addr = asio::ip::make_address(limits.address, ec);
  if (ec) return make_error("bad_address", "tunnel listen address: " + limits.address);
  const asio::ip::tcp::endpoint ep(addr, limits.port);
  auto& a = impl_->acceptor;
  a.open(ep.protocol(), ec);
  if (!ec) a.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec && addr.is_v6()) a.set_option(asio::ip::v6_only(false), ec);
  if (!ec) a.bind(ep, ec);
  if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return make_error("bind_failed", "tunnel port " + std::to_string(limits.port) + ": " + ec.message());
  asio::post(a.get_executor(), [i = impl_] { i->accept_inbound(); });
  return {};
}

Status TunnelEngine::set_outbound(std::vector<OutboundTunnel> tunnels) {
  std::map<std::string, OutboundTunnel> want;
  for (auto& t : tunnels) {
    if (auto st = tunnel_detail::check_outbound(t); !st) return st;
    if (!want.emplace(t.name, t).second) return make_error("bad_config", "duplicate tunnel name: " + t.name);
  }
  // Bind the new listeners first: a failure changes nothing. A changed
  // tunnel that keeps its address keeps its listener.
  std::map<std::string, std::shared_ptr<State>> fresh;
  std::vector<std::shared_ptr<Listener>> started;
  std::vector<std::shared_ptr<State>> gone;
  std::lock_guard lock(impl_->mu);
  if (impl_->stopped) return make_error("stopped", "the tunnel engine is stopped");
  for (const auto& [name, t] : want) {
    const auto it = impl_->outbound.find(name);
    if (it != impl_->outbound.end() && it->second->out == t) continue;
    auto st = tunnel_detail::make_state(TunnelDirection::outbound, name, t.max_connections, t.bandwidth_bytes_per_sec);
    st->out = t;
    if (it != impl_->outbound.end() && it->second->out.listen == t.listen) {
      st->listener = it->second->listener;
    } else {
      st->listener = std::make_shared<Listener>(impl_->io);
      if (auto b = tunnel_detail::bind_listener(*st->listener, t.listen); !b) {
        for (auto& l : started) (void)l->close();
        return b;
      }
      started.push_back(st->listener);
    }
    fresh.emplace(name, std::move(st));
  }
  for (auto it = impl_->outbound.begin(); it != impl_->outbound.end();) {
    if (!want.contains(it->first) || fresh.contains(it->first)) {
      gone.push_back(it->second);
      it = impl_->outbound.erase(it);
    } else {
      ++it;
    }
  }
  for (auto& [name, st] : fresh) impl_->outbound[name] = st;
  for (auto& g : gone) {
    const auto f = fresh.find(g->name);
    if (f == fresh.end() || f->second->listener != g->listener) (void)g->listener->close();
    for (const auto& [id, e] : impl_->conns)
      if (e.tunnel == g)
        if (auto c = e.conn.lock()) c->abort("removed", "the tunnel was changed or removed");
  }
  for (auto& [name, st] : fresh)
    if (std::find(started.begin(), started.end(), st->listener) != started.end())
      asio::post(st->listener->strand, [i = impl_, l = st->listener, n = name] { i->accept_outbound(l, n); });
  return {};
}

Status TunnelEngine::set_inbound(std::vector<InboundService> services) {
  std::map<std::string, InboundService> want;
  for (auto& s : services) {
    if (auto st = tunnel_detail::check_inbound(s); !st) return st;
    if (!want.emplace(s.service, s).second) return make_error("bad_config", "duplicate service: " + s.service);
  }
  std::vector<std::shared_ptr<State>> gone;
  {
    std::lock_guard lock(impl_->mu);
    for (auto it = impl_->inbound.begin(); it != impl_->inbound.end();) {
      const auto w = want.find(it->first);
      if (w == want.end() || !(w->second == it->second->in)) {
        gone.push_back(it->second);
        it = impl_->inbound.erase(it);
      } else {
        want.erase(w);
        ++it;
      }
    }
    for (auto& [name, s] : want) {
      auto st = tunnel_detail::make_state(TunnelDirection::inbound, name, s.max_connections,
                                                          s.bandwidth_bytes_per_sec);
      st->in = s;
      impl_->inbound[name] = std::move(st);
    }
  }
  for (auto& g : gone)
    impl_->abort_where([&](const Impl::Entry& e) { return e.tunnel == g; }, "removed", "the service was changed or removed");
  return {};
}

void TunnelEngine::recheck() {
  const bool out_ok = impl_->permitted(TunnelDirection::outbound);
  const bool in_ok = impl_->permitted(TunnelDirection::inbound);
  if (!out_ok || !in_ok) {
    impl_->abort_where(
        [&](const Impl::Entry& e) { return e.direction == TunnelDirection::outbound ? !out_ok : !in_ok; }, "mode_cut",
        "the operating mode no longer permits this tunnel");
  }
  if (impl_->hooks.facility_permitted) {
    // Connections not yet admitted have no facility: they are checked at admission.
    impl_->abort_where(
        [&](const Impl::Entry& e) { return !e.facility.empty() && !impl_->facility_permitted(e.facility); },
        "facility_suspended", "the facility is suspended by the secretariat");
  }
}

void TunnelEngine::stop() {
  std::vector<std::shared_ptr<State>> all;
  {
    std::lock_guard lock(impl_->mu);
    if (impl_->stopped) return;
    impl_->stopped = true;
    for (auto& [n, s] : impl_->outbound) all.push_back(s);
  }
  std::vector<std::future<void>> closing;
  auto closed = std::make_shared<std::promise<void>>();
  closing.push_back(closed->get_future());
  asio::post(impl_->acceptor.get_executor(), [i = impl_, closed] {
    error_code ig;
    i->acceptor.close(ig);
    closed->set_value();
  });
  for (auto& s : all) closing.push_back(s->listener->close());
  impl_->abort_where([](const Impl::Entry&) { return true; }, "stopped", "the tunnel engine stopped");
  // Outside the io threads, wait (briefly) until the addresses are released,
  // so that a successor can bind them at once.
  if (!impl_->io.get_executor().running_in_this_thread() && !impl_->io.stopped()) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    for (auto& f : closing) f.wait_until(until);
  }
}

std::uint16_t TunnelEngine::port() const {
  error_code ec;
  const auto ep = impl_->acceptor.local_endpoint(ec);
  return ec ? 0 : ep.port();
}

std::optional<LocalEndpoint> TunnelEngine::outbound_endpoint(const std::string& name) const {
  std::lock_guard lock(impl_->mu);
  const auto it = impl_->outbound.find(name);
  if (it == impl_->outbound.end()) return std::nullopt;
  return it->second->listener->bound;
}

TunnelStats TunnelEngine::stats() const {
  TunnelStats out;
  std::lock_guard lock(impl_->mu);
  for (const auto* m : {&impl_->outbound, &impl_->inbound})
    for (const auto& [name, s] : *m)
      out.tunnels.push_back({s->direction, name, s->active.load(), s->accepted.load(), s->refused.load(),
                             s->to_peer.load(), s->from_peer.load()});
  out.handshake_failures = impl_->handshake_failures;
  out.unknown_service = impl_->unknown_services;
  return out;
}

}  // namespace hiegate::transport
