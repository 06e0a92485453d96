// Two gateways in one process for the tunnel tests: gateway A (facility 0)
// with outbound tunnels, gateway B (facility 1) offering services, each with
// its own credentials from the test PKI; blocking POSIX backends and clients
// on loopback.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <set>
#include <thread>

#include "hiegate/transport/tunnel.hpp"
#include "tls_fixture.hpp"

namespace hiegate::transport::testing {

/// An owned file descriptor.
class Fd {
public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { reset(); }
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  [[nodiscard]] int get() const { return fd_; }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

private:
  int fd_ = -1;
};

inline bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}
/// Reads until EOF or error (or `limit` bytes); `ok` false on error.
inline std::string read_all(int fd, bool* ok = nullptr, std::size_t limit = SIZE_MAX) {
  std::string out;
  char buf[65536];
  while (out.size() < limit) {
    const ssize_t n = ::recv(fd, buf, std::min(sizeof buf, limit - out.size()), 0);
    if (n <= 0) {
      if (ok) *ok = n == 0;
      return out;
    }
    out.append(buf, static_cast<std::size_t>(n));
  }
  if (ok) *ok = true;
  return out;
}
inline std::string read_exact(int fd, std::size_t n) { return read_all(fd, nullptr, n); }

inline Fd connect_to(const LocalEndpoint& ep) {
  Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(ep.port);
  ::inet_pton(AF_INET, ep.host.c_str(), &a.sin_addr);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) throw std::runtime_error("connect");
  const int one = 1;
  ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

/// A loopback TCP server running `serve(fd)` on a thread per connection.
class Backend {
public:
  explicit Backend(std::function<void(int)> serve) : serve_(std::move(serve)) {
    listen_ = Fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (::bind(listen_.get(), reinterpret_cast<sockaddr*>(&a), len) != 0 || ::listen(listen_.get(), 64) != 0)
      throw std::runtime_error("backend bind");
    ::getsockname(listen_.get(), reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    acceptor_ = std::thread([this] {
      for (;;) {
        const int c = ::accept4(listen_.get(), nullptr, nullptr, SOCK_CLOEXEC);
        if (c < 0) return;
        std::lock_guard lock(mu_);
        open_.push_back(c);
        workers_.emplace_back([this, c] {
          serve_(c);
          ::shutdown(c, SHUT_WR);
        });
        ++accepted_;
      }
    });
  }
  ~Backend() {
    ::shutdown(listen_.get(), SHUT_RDWR);
    acceptor_.join();
    std::vector<std::thread> ws;
    {
      std::lock_guard lock(mu_);
      for (int c : open_) ::shutdown(c, SHUT_RDWR);
      ws.swap(workers_);
    }
    for (auto& w : ws) w.join();
    for (int c : open_) ::close(c);
  }
  [[nodiscard]] LocalEndpoint endpoint() const { return {LocalEndpoint::Kind::tcp, "127.0.0.1", port_, {}}; }
  [[nodiscard]] int accepted() const { return accepted_.load(); }

private:
  std::function<void(int)> serve_;
  Fd listen_;
  std::uint16_t port_ = 0;
  std::thread acceptor_;
  std::mutex mu_;
  std::vector<int> open_;
  std::vector<std::thread> workers_;
  std::atomic<int> accepted_{0};
};

/// Echoes bytes until EOF (then the Backend half-closes).
inline void echo(int fd) {
  char buf[65536];
  for (;;) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0 || !write_all(fd, std::string_view(buf, static_cast<std::size_t>(n)))) return;
  }
}

/// Collects audit records; thread-safe.
class AuditLog {
public:
  void add(const TunnelRecord& r) {
    std::lock_guard lock(mu_);
    records_.push_back(r);
    cv_.notify_all();
  }
  /// Waits for a record matching `pred` (up to 5 s).
  std::optional<TunnelRecord> wait(const std::function<bool(const TunnelRecord&)>& pred) {
    std::unique_lock lock(mu_);
    std::optional<TunnelRecord> hit;
    cv_.wait_for(lock, std::chrono::seconds(5), [&] {
      for (const auto& r : records_)
        if (pred(r)) return (hit = r).has_value();
      return false;
    });
    return hit;
  }
  std::optional<TunnelRecord> wait_ended(const std::string& tunnel, const std::string& ended) {
    return wait([&](const TunnelRecord& r) { return r.tunnel == tunnel && r.ended == ended; });
  }

private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<TunnelRecord> records_;
};

/// Loopback, any port, short set-up deadline.
inline TunnelLimits test_limits() {
  TunnelLimits lim;
  lim.address = "127.0.0.1";
  lim.port = 0;
  lim.connect_timeout = std::chrono::milliseconds(3000);
  return lim;
}

/// One gateway: a TLS context with its facility's credentials, an engine,
/// a mode switch and an audit log.
struct Gateway {
  Gateway(const Pki& pki, int facility, asio::io_context& io,
          std::function<std::optional<std::string>(const std::string&)> resolve, const TunnelLimits& lim)
      : tls(TlsContext::create(pki.store(pki.facility_dir(facility)), {})) {
    TunnelHooks h;
    h.permitted = [this](TunnelDirection d) {
      return d == TunnelDirection::outbound ? view.load() : serve.load();
    };
    h.facility_permitted = [this](const std::string& f) {
      std::lock_guard lock(suspended_mu);
      return suspended.count(f) == 0;
    };
    h.audit = [this](const TunnelRecord& r) { audit.add(r); };
    h.opened = [this](const TunnelRecord& r, std::function<void(bool)> done) {
      std::function<void(const TunnelRecord&, std::function<void(bool)>)> hook;
      {
        std::lock_guard lock(suspended_mu);
        hook = on_open;
      }
      if (hook) return hook(r, std::move(done));
      done(true);
    };
    h.resolve = std::move(resolve);
    engine = std::make_unique<TunnelEngine>(io, tls, std::move(h));
    if (auto st = engine->start(lim); !st) throw std::runtime_error(st.error().message);
  }
  /// As a suspend_facility order would.
  void suspend(const std::string& facility, bool on) {
    {
      std::lock_guard lock(suspended_mu);
      if (on) suspended.insert(facility);
      else suspended.erase(facility);
    }
    engine->recheck();
  }
  /// What recording an opening does (set under suspended_mu); unset: recorded at once.
  void opening(std::function<void(const TunnelRecord&, std::function<void(bool)>)> hook) {
    std::lock_guard lock(suspended_mu);
    on_open = std::move(hook);
  }
  std::function<void(const TunnelRecord&, std::function<void(bool)>)> on_open;
  std::atomic<bool> view{true}, serve{true};
  std::mutex suspended_mu;
  std::set<std::string> suspended;
  AuditLog audit;
  std::shared_ptr<TlsContext> tls;
  std::unique_ptr<TunnelEngine> engine;
};

/// Gateways A (facility 0, caller) and B (facility 1, server) on a shared
/// io_context run by two threads.
struct TwoGateways {
  Pki pki;
  asio::io_context io;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work{io.get_executor()};
  Gateway b;
  Gateway a;
  std::vector<std::thread> threads;

  explicit TwoGateways(const TunnelLimits& lim = test_limits())
      : b(pki, 1, io, {}, lim),
        a(pki, 0, io,
          [this](const std::string& f) -> std::optional<std::string> {
            if (f != pki.net.facility_codes.at(1)) return std::nullopt;
            return "127.0.0.1:" + std::to_string(b.engine->port());
          },
          lim) {
    for (int i = 0; i < 2; ++i) threads.emplace_back([this] { io.run(); });
  }
  ~TwoGateways() {
    a.engine->stop();
    b.engine->stop();
    work.reset();  // the io threads return once every connection has ended
    for (auto& t : threads) t.join();
  }
  [[nodiscard]] std::string code(int i) const { return pki.net.facility_codes.at(i); }
  OutboundTunnel out(std::string name, std::string service) const {
    OutboundTunnel t;
    t.name = std::move(name);
    t.listen = {LocalEndpoint::Kind::tcp, "127.0.0.1", 0, {}};
    t.facility = code(1);
    t.service = std::move(service);
    return t;
  }
  InboundService in(std::string service, LocalEndpoint backend, std::vector<std::string> allow) const {
    InboundService s;
    s.service = std::move(service);
    s.backend = std::move(backend);
    s.allow = std::move(allow);
    return s;
  }
  Fd dial(const std::string& tunnel) const {
    const auto ep = a.engine->outbound_endpoint(tunnel);
    if (!ep) throw std::runtime_error("no such tunnel");
    return connect_to(*ep);
  }
};

}  // namespace hiegate::transport::testing
