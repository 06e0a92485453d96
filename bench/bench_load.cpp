// Bounded load and abuse against a real hiegated (T, facility 1 of a fresh
// dev PKI), with a second real gateway (C, facility 0) as its normal peer:
//   1. `conns` (1,000) concurrent keep-alive connections on T's local API,
//      each answering audited requests (GET /v1/consents/{patient});
//   2. `slow` (200) clients sending their headers one byte per second while
//      normal clients measure their latency;
//   3. a burst of TLS handshakes with a certificate from another CA on T's
//      peer port while C fetches documents from T (peer API, mutual TLS);
// and reports T's responsiveness (p50/p99 of the normal clients against an
// idle baseline), its RSS before / under / after load (/proc/PID/status),
// and whether T's trail holds exactly one record per answered audited
// request, allowed or refused (the audit report API, counted per load user).
// Every loop is bounded in count and time; traffic stays on 127.0.0.1.
//   build/bench/bench_load [seconds=3] [conns=1000] [slow=200] [bad handshakes=200]
#include <sys/resource.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "bench_http.hpp"

namespace {
using namespace hiegate;
using namespace hiegate::bench;
using nlohmann::json;

constexpr const char* kPatient = "BL-0001";

/// Normal clients: 4 keep-alive connections reading the consent (audited) as
/// `user`. Every answer counts (a refusal is audited too); `refused` counts
/// those that were not 200.
LoadResult normal(const Hiegated& t, double seconds, const std::string& user, std::atomic<long>& refused) {
  return drive(t.port(), 4, seconds, 0, [&](HttpConn& c, int, long) {
    std::string body;
    const int st = c.request("GET", std::string("/v1/consents/") + kPatient, as_user(user), "", body);
    refused += st != 0 && st != 200;
    return st != 0;
  });
}

void line(const char* what, LoadResult r) {
  std::printf("| %-44s | %7.0f | %7.2f | %8.2f | %4ld |\n", what, r.per_s(), r.pct(0.5) / 1000, r.pct(0.99) / 1000,
              r.failed);
}

/// Audit records of `user` in T's trail (report API, as the admin).
/// Records of `user` in T's trail, counted by `hiegatectl audit report` on
/// the trail itself (read-only beside the running daemon; the report API
/// caps its answer), or -1.
long audit_count(const Hiegated& t, const std::string& user) {
  const auto r = test::run({test::binary("hiegatectl").string(), "audit", "report", "--user", t.code() + "/" + user,
                            "--state-dir", (t.dir() / "state").string(), "--key", (t.dir() / "master-key").string()});
  if (r.status != 0) return -1;
  const auto end = r.output.rfind(" record(s)");
  if (end == std::string::npos) return -1;
  const auto start = r.output.rfind('\n', end);
  return std::strtol(r.output.c_str() + (start == std::string::npos ? 0 : start + 1), nullptr, 10);
}

}  // namespace

int main(int argc, char** argv) {
  const double seconds = argc > 1 ? std::atof(argv[1]) : 3;
  const int conns = argc > 2 ? std::atoi(argv[2]) : 1000;
  const int slow = argc > 3 ? std::atoi(argv[3]) : 200;
  const int bad = argc > 4 ? std::atoi(argv[4]) : 200;
  if (seconds <= 0 || seconds > 60 || conns < 1 || conns > 2000 || slow < 0 || slow > 500 || bad < 0 || bad > 2000)
    return std::fprintf(stderr, "usage: bench_load [seconds 0-60] [conns 1-2000] [slow 0-500] [bad 0-2000]\n"), 2;
  rlimit nofile{};
  ::getrlimit(RLIMIT_NOFILE, &nofile);
  nofile.rlim_cur = nofile.rlim_max;  // the daemon inherits it
  ::setrlimit(RLIMIT_NOFILE, &nofile);

  const BenchPki pki("bench_load", 2);
  const BenchPki rogue("bench_rogue", 1);  // same shape, another CA
  const std::uint16_t peer_c = free_port(), peer_t = free_port();
  Hiegated t(pki, 1, peer_t, {{0, peer_c}},
             "max_connections = " + std::to_string(conns + slow + 64) + "\nrequest_timeout = \"10s\"\n");
  Hiegated c(pki, 0, peer_c, {{1, peer_t}});
  const double ready_s = t.start();
  if (ready_s < 0 || c.start() < 0) return 1;
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const long rss_ready = rss_kib(t.pid());
  auto put = [](const Hiegated& g, const std::string& target, const std::string& user, const json& body) {
    return g.call("PUT", target, user, body.dump()) == 200;
  };
  auto user = [](const Hiegated& g, const std::string& id, const json& body) {
    return g.put_user(id, body.dump()) == 200;
  };
  if (!user(t, "clerk-1", {{"role", "clerk"}, {"department", "医事課"}}) ||
      !user(t, "auditor", {{"role", "admin"}, {"department", "情報"}}) ||
      !user(c, "dr-peer", {{"role", "physician"}, {"department", "内科"}}) ||
      !put(t, std::string("/v1/consents/") + kPatient, "clerk-1",
           {{"signed_on", "2026-01-10"}, {"scope", "*"}, {"form_ref", "paper-0001"}}) ||
      !put(t, "/v1/documents/bl-doc", "clerk-1",
           {{"patient", kPatient}, {"type", "summary"}, {"title", "退院時サマリー"},
            {"created", "2026-11-20T10:00:00Z"}, {"content_type", "application/fhir+json"},
            {"content_base64", crypto::to_base64(crypto::as_bytes(
                                   json{{"resourceType", "Bundle"}, {"type", "document"}, {"id", std::string(10 * 1024, 'x')}}.dump()))}}))
    return std::fprintf(stderr, "set-up refused\n"), 1;
  for (const char* u : {"load-1", "normal-1"})
    if (!user(t, u, {{"role", "clerk"}, {"department", "医事課"}})) return 1;

  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const long rss_idle = rss_kib(t.pid());
  long answered = 0;  // audited requests of load-1 and normal-1 answered (any status)
  std::atomic<long> refused{0};
  std::printf("cold start to READY %.2f s; RSS at READY %ld KiB, idle after set-up %ld KiB\n\n", ready_s, rss_ready,
              rss_idle);
  std::printf("| normal clients (4 conns) while ...               |   req/s | p50 ms  |  p99 ms  | errs |\n");
  std::printf("|----------------------------------------------|--------:|--------:|---------:|-----:|\n");
  auto base = normal(t, seconds, "normal-1", refused);
  answered += base.ok;
  line("idle (baseline)", base);

  // 1. N keep-alive connections, each answering one request, all held open.
  std::vector<std::unique_ptr<HttpConn>> held(static_cast<std::size_t>(conns));
  long held_ok = 0;
  auto sweep = [&] {  // every held connection answers one audited request (16 threads)
    std::atomic<long> ok{0};
    std::vector<std::thread> th;
    for (int k = 0; k < 16; ++k)
      th.emplace_back([&, k] {
        for (int i = k; i < conns; i += 16) {
          auto& h = held[static_cast<std::size_t>(i)];
          if (!h) h = std::make_unique<HttpConn>(t.port());
          std::string body;
          const int st = h->request("GET", std::string("/v1/consents/") + kPatient, as_user("load-1"), "", body);
          ok += st != 0;
          refused += st != 0 && st != 200;
        }
      });
    for (auto& x : th) x.join();
    return ok.load();
  };
  const auto t0 = Clock::now();
  held_ok += sweep();
  const double open_s = std::chrono::duration<double>(Clock::now() - t0).count();
  auto under = normal(t, seconds, "normal-1", refused);
  answered += under.ok;
  const long rss_conns = rss_kib(t.pid());
  held_ok += sweep();  // the same connections again: kept alive, still served
  answered += held_ok;
  line((std::to_string(conns) + " keep-alive connections held open").c_str(), under);

  // 2. slow clients: one header byte per second each, for `seconds` + 1 s.
  const std::string slow_req = "GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + std::string(64, 's') + "\r\n\r\n";
  std::vector<int> slow_fds;
  for (int i = 0; i < slow; ++i) slow_fds.push_back(dial(t.port()));
  std::atomic<bool> stop_slow{false};
  std::thread dripper([&] {
    for (std::size_t b = 0; b < slow_req.size() && !stop_slow; ++b) {
      for (const int fd : slow_fds)
        if (fd >= 0) ::send(fd, slow_req.data() + b, 1, MSG_NOSIGNAL);
      for (int i = 0; i < 10 && !stop_slow; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });
  std::this_thread::sleep_for(std::chrono::seconds(1));
  auto slowed = normal(t, seconds, "normal-1", refused);
  answered += slowed.ok;
  const long rss_slow = rss_kib(t.pid());
  stop_slow = true;
  dripper.join();
  for (const int fd : slow_fds)
    if (fd >= 0) ::close(fd);
  line("slow clients dripping headers (1 B/s)", slowed);

  // 3. bad-certificate handshakes on the peer port while C fetches from T.
  const std::string fetch = "/v1/facilities/" + t.code() + "/documents/bl-doc";
  auto peer_fetch = [&](double s) {
    return drive(c.port(), 4, s, 0, [&](HttpConn& h, int, long) {
      std::string body;
      return h.request("GET", fetch, as_user("dr-peer"), "", body) == 200;
    });
  };
  auto peer_base = peer_fetch(seconds);
  const auto rf = rogue.facility(0);
  const std::string burst = "seq " + std::to_string(bad) +
                            " | xargs -P 4 -I{} sh -c 'openssl s_client -connect 127.0.0.1:" + std::to_string(peer_t) +
                            " -tls1_2 -cert " + (rf / "cert.pem").string() + " -key " + (rf / "key.pem").string() +
                            " -CAfile " + (pki.net.ca_dir / "ca.crt").string() + " </dev/null >/dev/null 2>&1; true'";
  const auto b0 = Clock::now();
  std::thread burster([&] { (void)!std::system(burst.c_str()); });
  auto peer_burst = peer_fetch(seconds);
  burster.join();
  const double burst_s = std::chrono::duration<double>(Clock::now() - b0).count();
  const long rss_burst = rss_kib(t.pid());
  line("(peer fetch C→T, idle)", peer_base);
  line("(peer fetch C→T) bad-certificate handshake burst", peer_burst);

  std::this_thread::sleep_for(std::chrono::seconds(2));
  held.clear();
  std::this_thread::sleep_for(std::chrono::seconds(1));
  const long rss_after = rss_kib(t.pid());
  const long recorded = audit_count(t, "load-1") + audit_count(t, "normal-1");
  std::printf("\n%d connections opened and served in %.2f s, %ld of %d requests answered on them\n", conns, open_s,
              held_ok, 2 * conns);
  std::printf("%d bad-certificate handshakes in %.2f s (4 at a time)\n", bad, burst_s);
  std::printf("T RSS KiB: idle %ld, %d conns %ld, slow clients %ld, handshake burst %ld, after %ld\n", rss_idle, conns,
              rss_conns, rss_slow, rss_burst, rss_after);
  std::printf("audited requests answered: %ld (%ld of them not 200); records in T's trail for those users: %ld (%s)\n",
              answered, refused.load(), recorded, answered == recorded ? "equal" : "MISMATCH");
  std::printf("FIGURE|cold start to READY|%.2f s|\n", ready_s);
  std::printf("FIGURE|RSS idle / with %d connections / after|%.1f / %.1f / %.1f MiB|\n", conns, rss_idle / 1024.0,
              rss_conns / 1024.0, rss_after / 1024.0);
  std::printf("FIGURE|audited answers without their record|%ld|<= 0\n", answered - recorded);
  return answered == recorded ? 0 : 3;
}
