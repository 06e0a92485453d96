// Shared harness of the network benchmarks (bench_tunnel, bench_mtls):
// blocking loopback sockets, an echo/sink backend, a dev PKI and stunnel4
// processes configured with the same certificates, CRL and suites as hiegate.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "hiegate/transport/credentials.hpp"
#include "hiegate/transport/pki.hpp"
#include "hiegate/transport/tls.hpp"

namespace hiegate::bench {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

inline int listen_on(std::uint16_t port, std::uint16_t* bound) {
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

/// A loopback port free right now (bound once and released).
inline std::uint16_t free_port() {
  std::uint16_t p = 0;
  ::close(listen_on(0, &p));
  return p;
}

inline int dial(std::uint16_t port) {
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

inline bool send_all(int fd, const char* p, std::size_t n) {
  while (n > 0) {
    const ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
    if (w <= 0) return false;
    p += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}
inline bool recv_all(int fd, char* p, std::size_t n) {
  while (n > 0) {
    const ssize_t r = ::recv(fd, p, n, 0);
    if (r <= 0) return false;
    p += r;
    n -= static_cast<std::size_t>(r);
  }
  return true;
}

/// Length-prefixed sink: the request is 'L' + 8-byte little-endian length N,
/// then N bytes; the answer is N as 8 bytes once all arrived. Used through
/// TLS, where a half-close cannot carry the end of the data.
constexpr char kSinkTag = 'L';
constexpr std::size_t kSinkHeader = 9;
inline std::uint64_t sink_length(const char* header) {
  std::uint64_t n = 0;
  std::memcpy(&n, header + 1, 8);
  return n;
}

/// The backend: echoes; a first byte 'S' makes it a sink that answers the
/// byte count ("%llu\n") at EOF; a first byte 'L' the length-prefixed sink.
/// One thread per connection.
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
  Backend(const Backend&) = delete;
  Backend& operator=(const Backend&) = delete;
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
    } else if (n > 0 && buf[0] == kSinkTag) {
      std::size_t have = static_cast<std::size_t>(n);
      while (have < kSinkHeader && (n = ::recv(c, buf.data() + have, buf.size() - have, 0)) > 0)
        have += static_cast<std::size_t>(n);
      const std::uint64_t want = sink_length(buf.data());
      std::uint64_t got = have - kSinkHeader;
      while (got < want && (n = ::recv(c, buf.data(), buf.size(), 0)) > 0) got += static_cast<std::uint64_t>(n);
      send_all(c, reinterpret_cast<const char*>(&got), 8);
      while (::recv(c, buf.data(), buf.size(), 0) > 0) {
      }
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

/// A fresh dev network ("benchnet") in a temporary directory, removed on
/// destruction.
struct BenchPki {
  BenchPki(const char* prefix, int facilities) {
    std::string tmpl = std::string("/tmp/") + prefix + ".XXXXXX";
    dir = ::mkdtemp(tmpl.data());
    auto n = transport::pki::dev_network(dir, "benchnet", facilities, std::chrono::system_clock::now());
    if (!n) {
      std::fprintf(stderr, "pki: %s\n", n.error().message.c_str());
      std::exit(1);
    }
    net = *n;
  }
  ~BenchPki() { fs::remove_all(dir); }
  BenchPki(const BenchPki&) = delete;
  BenchPki& operator=(const BenchPki&) = delete;

  fs::path facility(int i) const { return dir / "facilities" / net.facility_codes.at(static_cast<std::size_t>(i)); }
  transport::PeerIdentity identity(int i) const {
    return {transport::PeerIdentity::Kind::facility, "benchnet", net.facility_codes.at(static_cast<std::size_t>(i))};
  }
  std::shared_ptr<transport::CredentialStore> store(int i) const {
    const fs::path d = facility(i);
    return transport::CredentialStore::open({d / "cert.pem", d / "key.pem", net.ca_dir / "ca.crt",
                                             net.ca_dir / "crl.pem"},
                                            {.network = "benchnet"}, std::chrono::system_clock::now())
        .value();
  }

  fs::path dir;
  transport::pki::DevNetwork net;
};

/// Our suites in our order (transport::tls_cipher_preference), in OpenSSL's
/// names: the baseline negotiates what the gateways do.
inline std::string openssl_suites() {
  std::string out;
  for (const auto& b : transport::tls_cipher_preference()) {
    if (!out.empty()) out += ':';
    out += b == "AES-256/GCM"   ? "ECDHE-ECDSA-AES256-GCM-SHA384"
           : b == "AES-128/GCM" ? "ECDHE-ECDSA-AES128-GCM-SHA256"
                                : "ECDHE-ECDSA-CHACHA20-POLY1305";
  }
  return out;
}

/// One stunnel4 service (foreground process, killed on destruction) with
/// facility `fac`'s credentials, TLS 1.2 and hiegate's suites and groups in
/// hiegate's order, CA and CRL checked. `client`: plain in, TLS out.
class Stunnel {
public:
  Stunnel(const BenchPki& pki, const std::string& name, int fac, bool client, std::uint16_t accept,
          std::uint16_t connect, const std::string& extra = "") : port_(accept) {
    const fs::path conf = pki.dir / (name + ".conf");
    std::ofstream(conf) << "foreground = yes\npid =\ndebug = 3\n[" << name << "]\n"
                        << (client ? "client = yes\n" : "") << "accept = 127.0.0.1:" << accept
                        << "\nconnect = 127.0.0.1:" << connect << "\ncert = " << (pki.facility(fac) / "cert.pem").string()
                        << "\nkey = " << (pki.facility(fac) / "key.pem").string()
                        << "\nsslVersion = TLSv1.2\nverifyChain = yes\nCAfile = "
                        << (pki.net.ca_dir / "ca.crt").string() << "\nCRLfile = " << (pki.net.ca_dir / "crl.pem").string()
                        << "\nciphers = " << openssl_suites() << "\ncurves = X25519:P-256\n"
                        << extra;
    pid_ = ::fork();
    if (pid_ == 0) {
      const int devnull = ::open("/dev/null", O_WRONLY);
      ::dup2(devnull, 1);
      ::dup2(devnull, 2);
      ::execlp("stunnel4", "stunnel4", conf.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
  }
  ~Stunnel() {
    ::kill(pid_, SIGTERM);
    ::waitpid(pid_, nullptr, 0);
  }
  Stunnel(const Stunnel&) = delete;
  Stunnel& operator=(const Stunnel&) = delete;
  pid_t pid() const { return pid_; }
  /// Waits (bounded, 5 s) until the accept port takes connections.
  bool ready() const { return wait_listening(port_); }

  static bool wait_listening(std::uint16_t port) {
    for (int i = 0; i < 100; ++i) {
      const int fd = dial(port);
      if (fd >= 0) {
        ::close(fd);
        return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }

private:
  std::uint16_t port_;
  pid_t pid_ = -1;
};

/// Resident set size of a process in KiB (/proc/PID/status VmRSS), 0 if unknown.
inline long rss_kib(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  return 0;
}

}  // namespace hiegate::bench
