// Shared harness of the benchmarks that drive real hiegated processes
// (bench_e2e, bench_load): a blocking keep-alive HTTP/1.1 client, a
// closed-loop load driver with latency percentiles, and a hiegated process
// with a temporary config joined to a BenchPki dev network.
#pragma once

#include <algorithm>
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <regex>
#include <string>
#include <vector>

#include "bench_net.hpp"
#include "hiegate/crypto/encoding.hpp"
#include "hiegate/crypto/primitives.hpp"
#include "support/process.hpp"

namespace hiegate::bench {

inline constexpr const char* kBenchToken = "hgt_bench-token";

/// One keep-alive HTTP/1.1 connection (blocking, Content-Length answers
/// only). Not thread-safe; one per client thread. `ok()` false once the
/// connection failed or the server closed it.
class HttpConn {
public:
  explicit HttpConn(std::uint16_t port) : fd_(dial(port)) {
    if (fd_ >= 0) {
      timeval tv{10, 0};  // a stuck server fails the request, not the run
      ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    }
  }
  ~HttpConn() {
    if (fd_ >= 0) ::close(fd_);
  }
  HttpConn(const HttpConn&) = delete;
  HttpConn& operator=(const HttpConn&) = delete;
  bool ok() const { return fd_ >= 0; }

  /// Sends one request; returns the status (0 on failure) and fills `body`.
  int request(const std::string& method, const std::string& target, const std::map<std::string, std::string>& headers,
              const std::string& req_body, std::string& body) {
    if (fd_ < 0) return 0;
    std::string msg = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
    for (const auto& [k, v] : headers) msg += k + ": " + v + "\r\n";
    if (!req_body.empty() || method == "PUT" || method == "POST")
      msg += "Content-Length: " + std::to_string(req_body.size()) + "\r\n";
    msg += "\r\n";
    msg += req_body;
    if (!send_all(fd_, msg.data(), msg.size())) return fail();
    // Headers: read until the blank line (keeping what came after it).
    std::size_t end;
    while ((end = in_.find("\r\n\r\n")) == std::string::npos) {
      if (!fill()) return fail();
    }
    const std::string head = in_.substr(0, end);
    in_.erase(0, end + 4);
    if (head.size() < 12) return fail();
    const int status = std::atoi(head.c_str() + 9);
    std::string lower = head;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    const auto cl = lower.find("\r\ncontent-length:");
    const std::size_t len = cl == std::string::npos ? 0 : std::strtoull(lower.c_str() + cl + 17, nullptr, 10);
    while (in_.size() < len) {
      if (!fill()) return fail();
    }
    body.assign(in_, 0, len);
    in_.erase(0, len);
    if (lower.find("\r\nconnection: close") != std::string::npos) {
      ::close(fd_);
      fd_ = -1;
    }
    return status;
  }

private:
  bool fill() {
    char buf[64 * 1024];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) return false;
    in_.append(buf, static_cast<std::size_t>(n));
    return true;
  }
  int fail() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    return 0;
  }
  int fd_;
  std::string in_;
};

/// Latencies (µs) and counts of one load phase.
struct LoadResult {
  std::vector<double> micros;
  long ok = 0, failed = 0;
  double seconds = 0;
  double per_s() const { return seconds > 0 ? static_cast<double>(ok) / seconds : 0; }
  double pct(double p) {
    if (micros.empty()) return 0;
    std::sort(micros.begin(), micros.end());
    return micros[std::min(micros.size() - 1, static_cast<std::size_t>(p * static_cast<double>(micros.size())))];
  }
};

/// One client thread's requests: `request(i, from)` sends request i and
/// counts its latency from `from`.
struct ClientThread {
  std::unique_ptr<HttpConn> conn;
  std::vector<double> micros;
  long ok = 0, failed = 0;
  /// Sends request `i` through `one` (true = answered as expected); a failed
  /// connection is reopened first.
  void request(std::uint16_t port, const std::function<bool(HttpConn&, int, long)>& one, int t, long i,
               Clock::time_point from) {
    if (!conn || !conn->ok()) conn = std::make_unique<HttpConn>(port);
    if (one(*conn, t, i)) {
      ++ok;
      micros.push_back(std::chrono::duration<double, std::micro>(Clock::now() - from).count());
    } else {
      ++failed;
    }
  }
};

/// Runs `body(thread, t)` on `conns` threads and merges what they counted;
/// `seconds` is measured from `t0`.
inline LoadResult run_clients(int conns, Clock::time_point t0, const std::function<void(ClientThread&, int)>& body) {
  LoadResult r;
  std::mutex mu;
  std::vector<std::thread> threads;
  for (int t = 0; t < conns; ++t) {
    threads.emplace_back([&, t] {
      ClientThread c;
      body(c, t);
      const std::lock_guard lock(mu);
      r.micros.insert(r.micros.end(), c.micros.begin(), c.micros.end());
      r.ok += c.ok;
      r.failed += c.failed;
    });
  }
  for (auto& th : threads) th.join();
  r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  return r;
}

/// Closed loop: `conns` threads, each with its own keep-alive connection to
/// `port`, call `one(conn, thread, i)` (true = answered as expected) until
/// `seconds` pass or a shared budget of `max_requests` (0 = unbounded) is
/// spent. A failed connection is reopened once per failure.
inline LoadResult drive(std::uint16_t port, int conns, double seconds, long max_requests,
                        const std::function<bool(HttpConn&, int, long)>& one) {
  std::atomic<long> issued{0};
  const auto t0 = Clock::now();
  const auto deadline = t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  return run_clients(conns, t0, [&](ClientThread& c, int t) {
    while (Clock::now() < deadline) {
      const long i = issued++;
      if (max_requests > 0 && i >= max_requests) break;
      c.request(port, one, t, i, Clock::now());
    }
  });
}

/// Open loop at a fixed offered load: `conns` threads share `rate` requests
/// per second for `seconds`, request k of thread t scheduled at
/// (k·conns + t) / rate. Latency counts from the scheduled time, so a
/// server that falls behind is charged for the queue it builds (no
/// coordinated omission); a thread more than a second late stops early.
inline LoadResult drive_rate(std::uint16_t port, int conns, double rate, double seconds,
                             const std::function<bool(HttpConn&, int, long)>& one) {
  const auto t0 = Clock::now() + std::chrono::milliseconds(20);
  const long per_thread = static_cast<long>(rate * seconds) / conns;
  return run_clients(conns, t0, [&](ClientThread& c, int t) {
    for (long k = 0; k < per_thread; ++k) {
      const auto at = t0 + std::chrono::duration_cast<Clock::duration>(
                               std::chrono::duration<double>(static_cast<double>(k * conns + t) / rate));
      const auto now = Clock::now();
      if (now - at > std::chrono::seconds(1)) break;
      if (now < at) std::this_thread::sleep_until(at);
      c.request(port, one, t, k * conns + t, at);
    }
  });
}

/// The headers of an authenticated local API request as `user` (none: as the client itself).
inline std::map<std::string, std::string> as_user(const std::string& user) {
  std::map<std::string, std::string> h = {{"Authorization", std::string("Bearer ") + kBenchToken},
                                          {"Content-Type", "application/json"}};
  if (!user.empty()) {
    h["X-HIE-User"] = user;
    h["X-HIE-Purpose"] = "treatment";
  }
  return h;
}

/// A real hiegated for facility `fac` of `pki`, its state in
/// pki.dir/gw-<code>, peered with the facilities in `peers` (index → peer
/// port). Killed (SIGTERM, then SIGKILL) on destruction.
class Hiegated {
public:
  Hiegated(const BenchPki& pki, int fac, std::uint16_t peer_port, const std::map<int, std::uint16_t>& peers,
           const std::string& extra_local_api = "", const std::string& extra_store = "")
      : code_(pki.net.facility_codes.at(static_cast<std::size_t>(fac))), dir_(pki.dir / ("gw-" + code_)) {
    fs::create_directories(dir_);
    const auto key = crypto::random_bytes(32);
    std::ofstream(dir_ / "master-key", std::ios::binary).write(reinterpret_cast<const char*>(key.data()), 32);
    fs::permissions(dir_ / "master-key", fs::perms::owner_read);
    const auto f = pki.facility(fac);
    std::string t = "[network]\nid = \"benchnet\"\nfacility = \"" + code_ + "\"\n[daemon]\nthreads = 2\nstate_dir = \"" +
                    (dir_ / "state").string() + "\"\n[store]\nmaster_key = \"" + (dir_ / "master-key").string() +
                    "\"\n" + extra_store + "\n[local_api]\nlisten = [\"127.0.0.1:0\"]\nunix_socket = \"" + (dir_ / "local.sock").string() +
                    "\"\n" + extra_local_api +
                    "\n[[local_api.tokens]]\nname = \"bench\"\nhash = \"sha256:" +
                    crypto::to_hex(crypto::sha256(std::string(kBenchToken))) + "\"\n[tls]\ncert = \"" +
                    (f / "cert.pem").string() + "\"\nkey = \"" + (f / "key.pem").string() + "\"\nca = \"" +
                    (pki.net.ca_dir / "ca.crt").string() + "\"\ncrl = \"" + (pki.net.ca_dir / "crl.pem").string() +
                    "\"\n[peer_api]\naddress = \"127.0.0.1\"\nport = " + std::to_string(peer_port) +
                    // Throughput runs send far more than a facility's default share of requests; the
                    // limiter still runs (and is paid for) on every request.
                    "\nrequests_per_second_per_facility = 10000000\nrequest_burst_per_facility = 10000000\n";
    for (const auto& [i, port] : peers)
      t += "[[peers]]\nfacility = \"" + pki.net.facility_codes.at(static_cast<std::size_t>(i)) +
           "\"\nhost = \"127.0.0.1\"\nport = " + std::to_string(port) + "\n";
    std::ofstream(dir_ / "hiegate.toml") << t;
  }
  ~Hiegated() { stop(); }
  Hiegated(const Hiegated&) = delete;
  Hiegated& operator=(const Hiegated&) = delete;

  /// Starts the daemon; returns seconds to READY, or a negative value (the
  /// log on stderr) if it did not get there within 20 s.
  double start() {
    std::vector<std::string> argv = {test::binary("hiegated").string(), "--config", (dir_ / "hiegate.toml").string()};
    if (::geteuid() == 0) argv.emplace_back("--allow-root");
    const auto t0 = Clock::now();
    child_ = std::make_unique<test::Child>(argv, std::vector<std::string>{}, dir_ / "hiegated.log");
    const auto line = test::wait_for_line(dir_ / "hiegated.log", "local API listening on 127.0.0.1:",
                                          std::chrono::seconds(20));
    std::smatch m;
    if (!line || !std::regex_search(*line, m, std::regex("127\\.0\\.0\\.1:([0-9]+)")) ||
        !test::wait_for_line(dir_ / "hiegated.log", "ready", std::chrono::seconds(20))) {
      std::ifstream log(dir_ / "hiegated.log");
      std::fprintf(stderr, "hiegated %s did not start:\n%s\n", code_.c_str(),
                   std::string(std::istreambuf_iterator<char>(log), {}).c_str());
      return -1;
    }
    port_ = static_cast<std::uint16_t>(std::stoi(m[1].str()));
    return std::chrono::duration<double>(Clock::now() - t0).count();
  }
  void stop() {
    if (!child_) return;
    child_->signal(SIGTERM);
    (void)child_->wait(std::chrono::seconds(10));
    child_.reset();
  }
  std::uint16_t port() const { return port_; }
  pid_t pid() const { return child_ ? child_->pid() : -1; }
  const std::string& code() const { return code_; }
  const fs::path& dir() const { return dir_; }

  /// One authenticated request on a fresh connection; the status (0 on failure).
  int call(const std::string& method, const std::string& target, const std::string& user, const std::string& body,
           std::string* out = nullptr) const {
    HttpConn c(port_);
    std::string b;
    const int s = c.request(method, target, as_user(user), body, b);
    if (out != nullptr) *out = b;
    return s;
  }
  /// PUT /v1/users/ID as the gateway's administrator, which registers itself
  /// first (the first admin of a gateway names itself). The HTTP status.
  int put_user(const std::string& id, const std::string& body) const {
    const int admin = call("PUT", "/v1/users/it-admin", "it-admin", R"({"role":"admin","department":"情報"})");
    return admin != 200 ? admin : call("PUT", "/v1/users/" + id, "it-admin", body);
  }

private:
  std::string code_;
  fs::path dir_;
  std::unique_ptr<test::Child> child_;
  std::uint16_t port_ = 0;
};

}  // namespace hiegate::bench
