// Service tunnel throughput, connection rate and 1 KiB request/response
// latency: direct TCP, hiegate's tunnel (two engines, mutual TLS, loopback)
// and stunnel4 client+server with the same dev PKI and cipher suites.
//   build/bench/bench_tunnel [MiB=256] [connections=300] [round_trips=5000]
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "hiegate/transport/pki.hpp"
#include "hiegate/transport/tunnel.hpp"

namespace {
using namespace hiegate::transport;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

int listen_on(std::uint16_t port, std::uint16_t* bound) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), len) != 0 || ::listen(fd, 512) != 0) std::abort();
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  *bound = ntohs(a.sin_port);
  return fd;
}

int dial(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

bool send_all(int fd, const char* p, std::size_t n) {
  while (n > 0) {
    const ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
    if (w <= 0) return false;
    p += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}
bool recv_all(int fd, char* p, std::size_t n) {
  while (n > 0) {
    const ssize_t r = ::recv(fd, p, n, 0);
    if (r <= 0) return false;
    p += r;
    n -= static_cast<std::size_t>(r);
  }
  return true;
}

/// The backend: echoes, but a first byte 'S' makes it a sink that answers
/// the byte count ("%llu\n") at EOF. One thread per connection.
class Backend {
public:
  Backend() : fd_(listen_on(0, &port_)) {
    thread_ = std::thread([this] {
      for (;;) {
        const int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (c < 0) return;
        std::thread([c] { serve(c); }).detach();
      }
    });
  }
  ~Backend() {
    ::shutdown(fd_, SHUT_RDWR);
    thread_.join();
    ::close(fd_);
  }
  std::uint16_t port() const { return port_; }

private:
  static void serve(int c) {
    const int one = 1;
    ::setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    std::vector<char> buf(256 * 1024);
    ssize_t n = ::recv(c, buf.data(), buf.size(), 0);
    if (n > 0 && buf[0] == 'S') {
      unsigned long long total = static_cast<unsigned long long>(n);
      while ((n = ::recv(c, buf.data(), buf.size(), 0)) > 0) total += static_cast<unsigned long long>(n);
      const std::string ans = std::to_string(total) + "\n";
      send_all(c, ans.data(), ans.size());
    } else {
      while (n > 0 && send_all(c, buf.data(), static_cast<std::size_t>(n))) n = ::recv(c, buf.data(), buf.size(), 0);
    }
    ::shutdown(c, SHUT_WR);
    ::close(c);
  }
  std::uint16_t port_ = 0;
  int fd_;
  std::thread thread_;
};

struct Result3 {
  double mib_s = 0, conn_s = 0, p50_us = 0, p99_us = 0;
};

Result3 measure(std::uint16_t port, std::size_t mib, int conns, int trips) {
  Result3 r;
  {  // throughput: `mib` MiB one way into the sink, wait for its count
    const int fd = dial(port);
    std::vector<char> chunk(1 << 20, 'x');
    chunk[0] = 'S';
    const auto t0 = Clock::now();
    for (std::size_t i = 0; i < mib; ++i) send_all(fd, chunk.data(), chunk.size());
    ::shutdown(fd, SHUT_WR);
    char ans[32] = {};
    (void)!::recv(fd, ans, sizeof ans - 1, MSG_WAITALL);
    const double s = std::chrono::duration<double>(Clock::now() - t0).count();
    if (std::strtoull(ans, nullptr, 10) != mib << 20) std::fprintf(stderr, "sink count mismatch: %s\n", ans);
    r.mib_s = static_cast<double>(mib) / s;
    ::close(fd);
  }
  {  // connection rate: connect, 1-byte echo, close
    const auto t0 = Clock::now();
    int ok = 0;
    for (int i = 0; i < conns; ++i) {
      const int fd = dial(port);
      char b = 'e';
      if (fd >= 0 && send_all(fd, &b, 1) && recv_all(fd, &b, 1)) ++ok;
      if (fd >= 0) ::close(fd);
    }
    r.conn_s = ok / std::chrono::duration<double>(Clock::now() - t0).count();
  }
  {  // 1 KiB request/response latency on one connection
    const int fd = dial(port);
    std::vector<char> msg(1024, 'q'), back(1024);
    std::vector<double> us;
    us.reserve(static_cast<std::size_t>(trips));
    for (int i = 0; i < trips; ++i) {
      const auto t0 = Clock::now();
      if (!send_all(fd, msg.data(), msg.size()) || !recv_all(fd, back.data(), back.size())) break;
      us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
    }
    ::close(fd);
    std::sort(us.begin(), us.end());
    if (!us.empty()) {
      r.p50_us = us[us.size() / 2];
      r.p99_us = us[us.size() * 99 / 100];
    }
  }
  return r;
}

void report(const char* name, const Result3& r) {
  std::printf("| %-22s | %9.0f | %8.0f | %8.1f | %8.1f |\n", name, r.mib_s, r.conn_s, r.p50_us, r.p99_us);
}

/// stunnel4 client (facility 0) → stunnel4 server (facility 1) → backend.
class Stunnel {
public:
  Stunnel(const fs::path& dir, const pki::DevNetwork& net, std::uint16_t backend, std::uint16_t* front) {
    std::uint16_t mid = 0;
    ::close(listen_on(0, &mid));
    ::close(listen_on(0, front));
    const auto fac = [&](int i) { return dir / "facilities" / net.facility_codes.at(static_cast<std::size_t>(i)); };
    const std::string common = "foreground = yes\npid =\ndebug = 3\n";
    const std::string tls = "sslVersion = TLSv1.2\nverifyChain = yes\nCAfile = " + (net.ca_dir / "ca.crt").string() +
                            "\nCRLfile = " + (net.ca_dir / "crl.pem").string() +
                            "\nciphers = ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES256-GCM-SHA384:"
                            "ECDHE-ECDSA-AES128-GCM-SHA256\ncurves = X25519:P-256\n";
    std::ofstream(dir / "server.conf") << common << "[srv]\naccept = 127.0.0.1:" << mid << "\nconnect = 127.0.0.1:"
                                       << backend << "\ncert = " << (fac(1) / "cert.pem").string()
                                       << "\nkey = " << (fac(1) / "key.pem").string() << "\n" << tls;
    std::ofstream(dir / "client.conf") << common << "[cli]\nclient = yes\naccept = 127.0.0.1:" << *front
                                       << "\nconnect = 127.0.0.1:" << mid << "\ncert = " << (fac(0) / "cert.pem").string()
                                       << "\nkey = " << (fac(0) / "key.pem").string() << "\n" << tls;
    pids_.push_back(spawn(dir / "server.conf"));
    pids_.push_back(spawn(dir / "client.conf"));
    for (int i = 0; i < 100; ++i) {  // wait for both to listen
      const int a = dial(mid), b = dial(*front);
      if (a >= 0) ::close(a);
      if (b >= 0) ::close(b);
      if (a >= 0 && b >= 0) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    std::fprintf(stderr, "stunnel4 did not start\n");
  }
  ~Stunnel() {
    for (pid_t p : pids_) {
      ::kill(p, SIGTERM);
      ::waitpid(p, nullptr, 0);
    }
  }

private:
  static pid_t spawn(const fs::path& conf) {
    const pid_t p = ::fork();
    if (p == 0) {
      const int devnull = ::open("/dev/null", O_WRONLY);
      ::dup2(devnull, 1);
      ::dup2(devnull, 2);
      ::execlp("stunnel4", "stunnel4", conf.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    return p;
  }
  std::vector<pid_t> pids_;
};

}  // namespace

int main(int argc, char** argv) {
  const std::size_t mib = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 256;
  const int conns = argc > 2 ? std::atoi(argv[2]) : 300;
  const int trips = argc > 3 ? std::atoi(argv[3]) : 5000;
  char tmpl[] = "/tmp/bench_tunnel.XXXXXX";
  const fs::path dir = ::mkdtemp(tmpl);
  auto net = pki::dev_network(dir, "benchnet", 2, std::chrono::system_clock::now());
  if (!net) return std::fprintf(stderr, "pki: %s\n", net.error().message.c_str()), 1;
  Backend backend;

  const auto store = [&](int i) {
    const fs::path d = dir / "facilities" / net->facility_codes.at(static_cast<std::size_t>(i));
    return CredentialStore::open({d / "cert.pem", d / "key.pem", net->ca_dir / "ca.crt", net->ca_dir / "crl.pem"},
                                 {.network = "benchnet"}, std::chrono::system_clock::now())
        .value();
  };
  boost::asio::io_context io;
  auto work = boost::asio::make_work_guard(io);
  TunnelHooks hb;
  hb.permitted = [](TunnelDirection) { return true; };
  TunnelEngine b(io, TlsContext::create(store(1), {}), hb);
  TunnelLimits lim;
  lim.address = "127.0.0.1";
  lim.port = 0;
  if (!b.start(lim)) return 1;
  InboundService svc{"bench", {LocalEndpoint::Kind::tcp, "127.0.0.1", backend.port(), {}}, {"*"}, 1024, 0, false};
  if (!b.set_inbound({svc})) return 1;
  TunnelHooks ha = hb;
  ha.resolve = [&](const std::string&) -> std::optional<std::string> { return "127.0.0.1:" + std::to_string(b.port()); };
  TunnelEngine a(io, TlsContext::create(store(0), {}), ha);
  lim.listen = false;
  if (!a.start(lim)) return 1;
  OutboundTunnel t{"bench", {LocalEndpoint::Kind::tcp, "127.0.0.1", 0, {}}, net->facility_codes.at(1), "bench", 1024, 0};
  if (!a.set_outbound({t})) return 1;
  std::vector<std::thread> threads;
  for (int i = 0; i < 2; ++i) threads.emplace_back([&] { io.run(); });

  std::printf("%zu MiB one way; %d connections (connect, 1-byte echo, close); %d x 1 KiB round trips\n\n", mib,
              conns, trips);
  std::printf("| path                   |     MiB/s |   conn/s | p50 (us) | p99 (us) |\n");
  std::printf("|------------------------|-----------|----------|----------|----------|\n");
  report("direct TCP (baseline)", measure(backend.port(), mib, conns, trips));
  report("hiegate tunnel", measure(a.outbound_endpoint("bench")->port, mib, conns, trips));
  {
    std::uint16_t front = 0;
    Stunnel st(dir, *net, backend.port(), &front);
    report("stunnel4 client+server", measure(front, mib, conns, trips));
  }
  a.stop();
  b.stop();
  work.reset();
  for (auto& th : threads) th.join();
  fs::remove_all(dir);
  return 0;
}
