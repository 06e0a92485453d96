// End-to-end document fetch through real hiegated gateways against the
// plumbing a facility would otherwise assemble, same machine, same run:
//   hiegate: EHR client → gateway A local API → mutual TLS → gateway B peer
//            API → B's store (consent, policy, durable audit record on both
//            sides) → back. The EHR asks for the raw bytes (Accept:
//            application/octet-stream; metadata in X-HIE-Document);
//   baseline: EHR client → stunnel4 client → mutual TLS → stunnel4 server →
//            nginx serving the same document bytes as static files.
// Both with the same fresh dev PKI and keep-alive client connections.
// Uncached: gateway A0 keeps no copies ([store] cache_max_bytes = 0), so
// every fetch goes to B for the content. Cached: gateway A serves its sealed
// copy after B re-decides without the content. Each is measured closed loop
// (saturation) and open loop at a fixed offered load (latency).
//   build/bench/bench_e2e [seconds=3] [conns=8] [sizes KiB=10,256,4096] [rate req/s=200]
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>

#include "bench_cpu.hpp"
#include "bench_http.hpp"

namespace {
using namespace hiegate;
using namespace hiegate::bench;
using nlohmann::json;

constexpr const char* kPatient = "BN-0001";

/// Documents per size: enough for one uncached phase, bounded in bytes.
long docs_for(std::size_t kib) { return std::clamp<long>(static_cast<long>(64 * 1024 / kib), 16, 400); }

std::string doc_bytes(std::size_t kib, long i) {
  std::string s(kib * 1024, ' ');
  for (std::size_t j = 0; j < s.size(); ++j) s[j] = static_cast<char>('a' + (j * 7 + static_cast<std::size_t>(i)) % 26);
  s.replace(0, 9, "%PDF-1.7\n");  // published as a PDF (the content check reads the magic)
  return s;
}
std::string doc_id(std::size_t kib, long i) { return "d" + std::to_string(kib) + "k-" + std::to_string(i); }

/// A single-process nginx serving `root` on `port` (killed on destruction).
class Nginx {
public:
  Nginx(const fs::path& dir, const fs::path& root, std::uint16_t port) {
    const fs::path conf = dir / "nginx.conf";
    std::ofstream(conf) << "daemon off;\nmaster_process off;\nworker_processes 1;\nuser root;\npid " << (dir / "nginx.pid").string()
                        << ";\nerror_log " << (dir / "nginx-error.log").string()
                        << ";\nevents { worker_connections 1024; }\nhttp {\n access_log off;\n client_body_temp_path "
                        << (dir / "nginx-body").string() << ";\n keepalive_requests 1000000;\n server {\n  listen 127.0.0.1:"
                        << port << ";\n  root " << root.string() << ";\n }\n}\n";
    const std::string bin = fs::exists("/usr/sbin/nginx") ? "/usr/sbin/nginx" : "nginx";
    child_ = std::make_unique<test::Child>(std::vector<std::string>{bin, "-p", dir.string(), "-c", conf.string()},
                                           std::vector<std::string>{}, dir / "nginx.log");
  }

  [[nodiscard]] pid_t pid() const { return child_->pid(); }

private:
  std::unique_ptr<test::Child> child_;
};

struct Phase {
  std::string path, mode;
  std::size_t kib;
  LoadResult sat;    ///< closed loop
  LoadResult fixed;  ///< open loop at the offered rate
  std::map<std::string, double> cpu;  ///< closed loop: CPU µs per request by process and thread
};

/// CPU seconds so far of each (label, process): by thread role for a
/// hiegated (long-lived threads), the whole process otherwise (stunnel4
/// runs a thread per connection); "client" is this process, the load
/// generator.
using Procs = std::vector<std::tuple<std::string, pid_t, bool>>;  // label, pid, is hiegated
std::map<std::string, double> cpu_now(const Procs& procs) {
  static const std::map<std::string, std::string> kRoles = {
      {"hiegated", "io"},          {"hiegate-audit", "audit writer"},  {"hiegate-auditfs", "audit flusher"},
      {"hiegate-storer", "store readers"}, {"hiegate-storew", "store writer"}};
  std::map<std::string, double> out;
  for (const auto& [label, pid, ours] : procs) {
    if (!ours) {
      out[label] = process_cpu_of(pid);
      continue;
    }
    for (const auto& [name, s] : threads_cpu(std::to_string(pid))) {
      const auto role = kRoles.find(name);
      out[label + " " + (role == kRoles.end() ? name : role->second)] += s;
    }
  }
  out["client"] = process_cpu();
  return out;
}

/// The closed-loop phase with the CPU it cost per request.
LoadResult measured(const Procs& procs, std::map<std::string, double>& cpu, const std::function<LoadResult()>& run) {
  const auto before = cpu_now(procs);
  LoadResult r = run();
  const auto after = cpu_now(procs);
  for (const auto& [k, v] : after) {
    const auto b = before.find(k);
    const double used = v - (b == before.end() ? 0.0 : b->second);
    if (r.ok > 0) cpu[k] = used * 1e6 / static_cast<double>(r.ok);
  }
  return r;
}

void cpu_row(const Phase& p) {
  double total = 0;
  std::string parts;
  for (const auto& [k, us] : p.cpu) {
    total += us;
    if (us < 0.5) continue;
    char buf[96];
    std::snprintf(buf, sizeof buf, "%s%s %.0f", parts.empty() ? "" : " · ", k.c_str(), us);
    parts += buf;
  }
  std::printf("| %6zu KiB | %-14s | %-8s | %6.0f | %s |\n", p.kib, p.path.c_str(), p.mode.c_str(), total,
              parts.c_str());
}

void row(Phase& p) {
  std::printf("| %6zu KiB | %-14s | %-8s | %8.1f | %8.2f | %8.2f | %8.1f | %8.2f | %8.2f | %4ld |\n", p.kib,
              p.path.c_str(), p.mode.c_str(), p.sat.per_s(), p.sat.pct(0.50) / 1000, p.sat.pct(0.99) / 1000,
              p.fixed.per_s(), p.fixed.pct(0.50) / 1000, p.fixed.pct(0.99) / 1000, p.sat.failed + p.fixed.failed);
}

}  // namespace

int main(int argc, char** argv) {
  const double seconds = argc > 1 ? std::atof(argv[1]) : 3;
  const int conns = argc > 2 ? std::atoi(argv[2]) : 8;
  std::vector<std::size_t> sizes;
  {
    std::stringstream ss(argc > 3 ? argv[3] : "10,256,4096");
    for (std::string s; std::getline(ss, s, ',');) sizes.push_back(std::strtoul(s.c_str(), nullptr, 10));
  }
  const double rate = argc > 4 ? std::atof(argv[4]) : 200;
  if (seconds <= 0 || seconds > 60 || conns < 1 || conns > 64 || sizes.empty() || rate <= 0 || rate > 100000 ||
      std::any_of(sizes.begin(), sizes.end(), [](std::size_t k) { return k == 0 || k > 6 * 1024; }))
    return std::fprintf(stderr,
                        "usage: bench_e2e [seconds 0-60] [conns 1-64] [KiB,KiB,... each 1-6144] [rate req/s]\n"),
           2;

  const BenchPki pki("bench_e2e", 3);
  const std::uint16_t peer_a = free_port(), peer_b = free_port(), peer_a0 = free_port();
  Hiegated a(pki, 0, peer_a, {{1, peer_b}});
  Hiegated b(pki, 1, peer_b, {{0, peer_a}, {2, peer_a0}});
  Hiegated a0(pki, 2, peer_a0, {{1, peer_b}}, "", "cache_max_bytes = 0");
  if (a.start() < 0 || b.start() < 0 || a0.start() < 0) return 1;
  const std::string code_b = b.code();
  const json physician = {{"role", "physician"}, {"department", "内科"}};
  if (a.put_user("dr-bench", physician.dump()) != 200 ||
      a0.put_user("dr-bench", physician.dump()) != 200 ||
      b.put_user("clerk-1", json{{"role", "clerk"}, {"department", "医事課"}}.dump()) != 200 ||
      b.call("PUT", std::string("/v1/consents/") + kPatient, "clerk-1",
             json{{"signed_on", "2026-01-10"}, {"scope", "*"}, {"form_ref", "paper-0001"}}.dump()) != 200)
    return std::fprintf(stderr, "set-up (users, consent) refused\n"), 1;

  // The same documents at B (published through its local API) and as files for nginx.
  const fs::path www = pki.dir / "www";
  fs::create_directories(www);
  for (const std::size_t kib : sizes) {
    const long n = docs_for(kib);
    const auto pub = drive(b.port(), 2, 600, n, [&](HttpConn& c, int, long i) {
      const std::string content = doc_bytes(kib, i);
      std::ofstream(www / doc_id(kib, i), std::ios::binary) << content;
      const json body = {{"patient", kPatient},
                         {"type", "summary"},
                         {"title", "退院時サマリー"},
                         {"created", "2026-11-20T10:00:00Z"},
                         {"content_type", "application/pdf"},
                         {"content_base64", crypto::to_base64(crypto::as_bytes(content))}};
      std::string out;
      const int st = c.request("PUT", "/v1/documents/" + doc_id(kib, i), as_user("clerk-1"), body.dump(), out);
      if (st != 200) std::fprintf(stderr, "publish %s: %d %s\n", doc_id(kib, i).c_str(), st, out.c_str());
      return st == 200;
    });
    if (pub.ok != n) return std::fprintf(stderr, "publishing %zu KiB documents failed\n", kib), 1;
  }

  const std::uint16_t nginx_port = free_port(), st_server = free_port(), st_client = free_port();
  Nginx nginx(pki.dir, www, nginx_port);
  Stunnel server(pki, "srv", 1, false, st_server, nginx_port);
  Stunnel client(pki, "cli", 0, true, st_client, st_server);
  if (!Stunnel::wait_listening(nginx_port) || !server.ready() || !client.ready())
    return std::fprintf(stderr, "nginx or stunnel4 did not start\n"), 1;

  auto raw_headers = [] {
    auto h = as_user("dr-bench");
    h["Accept"] = "application/octet-stream";
    return h;
  }();
  std::vector<Phase> phases;
  for (const std::size_t kib : sizes) {
    const long n = docs_for(kib);
    const std::string target_prefix = "/v1/facilities/" + code_b + "/documents/";
    // One fetch through each path, checked byte for byte, before measuring.
    {
      HttpConn c(st_client);
      std::string body;
      if (c.request("GET", "/" + doc_id(kib, 0), {}, "", body) != 200 || body != doc_bytes(kib, 0))
        return std::fprintf(stderr, "baseline answered wrongly for %s\n", doc_id(kib, 0).c_str()), 1;
    }
    for (Hiegated* gw : {&a0, &a}) {
      HttpConn c(gw->port());
      std::string body;
      if (c.request("GET", target_prefix + doc_id(kib, 0), raw_headers, "", body) != 200 ||
          body != doc_bytes(kib, 0))
        return std::fprintf(stderr, "hiegate answered wrongly for %s\n", doc_id(kib, 0).c_str()), 1;
    }
    // A's copies of every document (the cached phases read them back).
    const auto warm = drive(a.port(), 2, 600, n, [&](HttpConn& c, int, long i) {
      std::string body;
      return c.request("GET", target_prefix + doc_id(kib, i), raw_headers, "", body) == 200;
    });
    if (warm.ok != n) return std::fprintf(stderr, "warming A's cache failed\n"), 1;
    auto fetch = [&](HttpConn& c, int, long i) {
      std::string body;
      return c.request("GET", target_prefix + doc_id(kib, i % n), raw_headers, "", body) == 200 &&
             body.size() == kib * 1024;
    };
    auto baseline = [&](HttpConn& c, int, long i) {
      std::string body;
      return c.request("GET", "/" + doc_id(kib, i % n), {}, "", body) == 200 && body.size() == kib * 1024;
    };
    const Procs uncached_procs = {{"A0", a0.pid(), true}, {"B", b.pid(), true}};
    const Procs cached_procs = {{"A", a.pid(), true}, {"B", b.pid(), true}};
    const Procs baseline_procs = {
        {"stunnel4 client", client.pid(), false}, {"stunnel4 server", server.pid(), false}, {"nginx", nginx.pid(), false}};
    Phase un{"hiegate", "uncached", kib, {}, {}, {}};
    un.sat = measured(uncached_procs, un.cpu, [&] { return drive(a0.port(), conns, seconds, 0, fetch); });
    un.fixed = drive_rate(a0.port(), conns, rate, seconds, fetch);
    Phase ca{"hiegate", "cached", kib, {}, {}, {}};
    ca.sat = measured(cached_procs, ca.cpu, [&] { return drive(a.port(), conns, seconds, 0, fetch); });
    ca.fixed = drive_rate(a.port(), conns, rate, seconds, fetch);
    Phase ng{"stunnel4+nginx", "static", kib, {}, {}, {}};
    ng.sat = measured(baseline_procs, ng.cpu, [&] { return drive(st_client, conns, seconds, 0, baseline); });
    ng.fixed = drive_rate(st_client, conns, rate, seconds, baseline);
    phases.push_back(std::move(un));
    phases.push_back(std::move(ca));
    phases.push_back(std::move(ng));
  }

  std::printf("%d keep-alive connections, %.1f s per phase; closed loop (saturation), then open loop at %.0f req/s\n\n",
              conns, seconds, rate);
  std::printf("| size       | path           | mode     |  sat req/s | p50 ms | p99 ms | @rate req/s | p50 ms | p99 ms | errs |\n");
  std::printf("|-----------:|----------------|----------|---------:|---------:|---------:|---------:|---------:|---------:|-----:|\n");
  for (auto& p : phases) row(p);
  std::printf("\nCPU µs per request in the closed loop, by process and thread (A0, A, B: the gateways; client: the load\n"
              "generator, this process; clock-tick resolution):\n\n");
  std::printf("| size       | path           | mode     |  total | where |\n");
  std::printf("|-----------:|----------------|----------|-------:|-------|\n");
  for (const auto& p : phases) cpu_row(p);
  std::printf("\nratios hiegate/(stunnel4+nginx), saturated req/s:");
  for (std::size_t i = 0; i + 2 < phases.size(); i += 3) {
    std::printf("  %zu KiB uncached %.2f cached %.2f;", phases[i].kib,
                phases[i].sat.per_s() / phases[i + 2].sat.per_s(),
                phases[i + 1].sat.per_s() / phases[i + 2].sat.per_s());
  }
  std::printf("\n");
  for (std::size_t i = 0; i + 2 < phases.size(); i += 3) {
    std::printf("RATIO|document fetch end to end, %zu KiB, uncached, %d connections|stunnel4 + nginx, req/s|%.2f|>= 1.0\n",
                phases[i].kib, conns, phases[i].sat.per_s() / phases[i + 2].sat.per_s());
    std::printf("RATIO|document fetch end to end, %zu KiB, cached, %d connections|stunnel4 + nginx, req/s|%.2f|>= 1.0\n",
                phases[i].kib, conns, phases[i + 1].sat.per_s() / phases[i + 2].sat.per_s());
  }
  return 0;
}
