// Service tunnel throughput, connection rate and 1 KiB request/response
// latency: direct TCP, hiegate's tunnel (two engines, mutual TLS, loopback)
// and stunnel4 client+server with the same dev PKI and cipher suites.
// Each engine records its connections in its own durable audit trail as
// the daemon does: the opening before any byte flows, the end after.
//   build/bench/bench_tunnel [MiB=256] [connections=300] [round_trips=5000]
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "bench_net.hpp"
#include "hiegate/daemon/audit.hpp"
#include "hiegate/daemon/log.hpp"
#include "hiegate/daemon/tunnels.hpp"
#include "hiegate/transport/tunnel.hpp"

namespace {
using namespace hiegate::transport;
using namespace hiegate::bench;

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

}  // namespace

int main(int argc, char** argv) {
  const std::size_t mib = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 256;
  const int conns = argc > 2 ? std::atoi(argv[2]) : 300;
  const int trips = argc > 3 ? std::atoi(argv[3]) : 5000;
  const BenchPki pki("bench_tunnel", 2);
  const auto& net = pki.net;
  Backend backend;
  const auto store = [&](int i) { return pki.store(i); };
  boost::asio::io_context io;
  auto work = boost::asio::make_work_guard(io);
  // One durable trail per gateway, as two daemons would have.
  namespace daemon = hiegate::daemon;
  auto ring = hiegate::crypto::KeyRing::from_master_keys({{1, hiegate::crypto::Bytes(32, 7)}});
  if (!ring) return 1;
  const auto keys = std::make_shared<const hiegate::crypto::KeyRing>(std::move(ring).value());
  daemon::Logger logger(daemon::Logger::Sink::stderr_text, daemon::Level::warning);
  const auto trail = [&](const char* side) {
    daemon::AuditOptions o;
    o.dir = std::filesystem::path(pki.dir) / side;
    return daemon::AuditLog::open(o, keys, logger);
  };
  auto audit_a = trail("audit-a");
  auto audit_b = trail("audit-b");
  if (!audit_a || !audit_b) return std::fprintf(stderr, "the audit trails did not open\n"), 1;
  const auto audited = [](daemon::AuditLog& log, TunnelHooks& h) {
    h.opened = [&log](const TunnelRecord& r, std::function<void(bool)> done) {
      log.append(daemon::tunnel_audit_record(r), [done = std::move(done)](hiegate::Status st) { done(st.ok()); });
    };
    h.audit = [&log](const TunnelRecord& r) { log.append(daemon::tunnel_audit_record(r), [](hiegate::Status) {}); };
  };
  TunnelHooks hb;
  hb.permitted = [](TunnelDirection) { return true; };
  audited(**audit_b, hb);
  TunnelEngine b(io, TlsContext::create(store(1), {}), hb);
  TunnelLimits lim;
  lim.address = "127.0.0.1";
  lim.port = 0;
  if (!b.start(lim)) return 1;
  InboundService svc{"bench", {LocalEndpoint::Kind::tcp, "127.0.0.1", backend.port(), {}}, {"*"}, 1024, 0, false};
  if (!b.set_inbound({svc})) return 1;
  TunnelHooks ha = hb;
  audited(**audit_a, ha);
  ha.resolve = [&](const std::string&) -> std::optional<std::string> { return "127.0.0.1:" + std::to_string(b.port()); };
  TunnelEngine a(io, TlsContext::create(store(0), {}), ha);
  lim.listen = false;
  if (!a.start(lim)) return 1;
  OutboundTunnel t{"bench", {LocalEndpoint::Kind::tcp, "127.0.0.1", 0, {}}, net.facility_codes.at(1), "bench", 1024, 0};
  if (!a.set_outbound({t})) return 1;
  std::vector<std::thread> threads;
  for (int i = 0; i < 2; ++i) threads.emplace_back([&] { io.run(); });

  std::printf("%zu MiB one way; %d connections (connect, 1-byte echo, close); %d x 1 KiB round trips\n\n", mib,
              conns, trips);
  std::printf("| path                   |     MiB/s |   conn/s | p50 (us) | p99 (us) |\n");
  std::printf("|------------------------|-----------|----------|----------|----------|\n");
  report("direct TCP (baseline)", measure(backend.port(), mib, conns, trips));
  const Result3 ours = measure(a.outbound_endpoint("bench")->port, mib, conns, trips);
  report("hiegate tunnel", ours);
  Result3 theirs;
  {
    // stunnel4 client (facility 0) -> stunnel4 server (facility 1) -> backend.
    const std::uint16_t mid = free_port(), front = free_port();
    const Stunnel server(pki, "srv", 1, false, mid, backend.port());
    const Stunnel client(pki, "cli", 0, true, front, mid);
    if (!server.ready() || !client.ready()) std::fprintf(stderr, "stunnel4 did not start\n");
    theirs = measure(front, mib, conns, trips);
    report("stunnel4 client+server", theirs);
  }
  // Summary lines for scripts/bench (higher is better in every ratio).
  if (theirs.mib_s > 0 && ours.p50_us > 0) {
    std::printf("RATIO|tunnel: MiB/s|stunnel4|%.2f|\n", ours.mib_s / theirs.mib_s);
    std::printf("RATIO|tunnel: connections/s|stunnel4|%.2f|\n", ours.conn_s / theirs.conn_s);
    std::printf("RATIO|tunnel: 1 KiB round trip p50 (theirs/ours)|stunnel4|%.2f|\n", theirs.p50_us / ours.p50_us);
  }
  a.stop();
  b.stop();
  work.reset();
  for (auto& th : threads) th.join();
  return 0;
}
