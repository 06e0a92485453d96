// End-to-end document fetch through two real hiegated gateways against the
// plumbing a facility would otherwise assemble, same machine, same run:
//   hiegate: EHR client → gateway A local API → mutual TLS → gateway B peer
//            API → B's store (consent, policy, durable audit record on both
//            sides) → back, as JSON with the content in base64;
//   baseline: EHR client → stunnel4 client → mutual TLS → stunnel4 server →
//            nginx serving the same document bytes as static files.
// Both with the same fresh dev PKI, keep-alive client connections, closed
// loop with `conns` connections. Uncached: each document fetched once (A
// misses its cache, B sends the content); cached: the same documents again
// (A serves its sealed copy after B re-decides without the content).
//   build/bench/bench_e2e [seconds=3] [conns=8] [sizes KiB=4,256,4096]
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>

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

private:
  std::unique_ptr<test::Child> child_;
};

struct Phase {
  std::string path, mode;
  std::size_t kib;
  LoadResult r;
};

void row(Phase& p) {
  std::printf("| %6zu KiB | %-14s | %-8s | %7ld | %8.1f | %8.2f | %8.2f | %4ld |\n", p.kib, p.path.c_str(),
              p.mode.c_str(), p.r.ok, p.r.per_s(), p.r.pct(0.50) / 1000, p.r.pct(0.99) / 1000, p.r.failed);
}

}  // namespace

int main(int argc, char** argv) {
  const double seconds = argc > 1 ? std::atof(argv[1]) : 3;
  const int conns = argc > 2 ? std::atoi(argv[2]) : 8;
  std::vector<std::size_t> sizes;
  {
    std::stringstream ss(argc > 3 ? argv[3] : "4,256,4096");
    for (std::string s; std::getline(ss, s, ',');) sizes.push_back(std::strtoul(s.c_str(), nullptr, 10));
  }
  if (seconds <= 0 || seconds > 60 || conns < 1 || conns > 64 || sizes.empty() ||
      std::any_of(sizes.begin(), sizes.end(), [](std::size_t k) { return k == 0 || k > 6 * 1024; }))
    return std::fprintf(stderr, "usage: bench_e2e [seconds 0-60] [conns 1-64] [KiB,KiB,... each 1-6144]\n"), 2;

  const BenchPki pki("bench_e2e", 2);
  const std::uint16_t peer_a = free_port(), peer_b = free_port();
  Hiegated a(pki, 0, peer_a, {{1, peer_b}});
  Hiegated b(pki, 1, peer_b, {{0, peer_a}});
  if (a.start() < 0 || b.start() < 0) return 1;
  const std::string code_b = b.code();
  if (a.call("PUT", "/v1/users/dr-bench", "", json{{"role", "physician"}, {"department", "内科"}}.dump()) != 200 ||
      b.call("PUT", "/v1/users/clerk-1", "", json{{"role", "clerk"}, {"department", "医事課"}}.dump()) != 200 ||
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

  // One fetch through each path, checked byte for byte, before measuring.
  const std::uint16_t nginx_port = free_port(), st_server = free_port(), st_client = free_port();
  Nginx nginx(pki.dir, www, nginx_port);
  Stunnel server(pki, "srv", 1, false, st_server, nginx_port);
  Stunnel client(pki, "cli", 0, true, st_client, st_server);
  if (!Stunnel::wait_listening(nginx_port) || !server.ready() || !client.ready())
    return std::fprintf(stderr, "nginx or stunnel4 did not start\n"), 1;

  std::vector<Phase> phases;
  for (const std::size_t kib : sizes) {
    const long n = docs_for(kib);
    const std::string expect_id = doc_id(kib, 0);
    {
      HttpConn c(st_client);
      std::string body;
      if (c.request("GET", "/" + expect_id, {}, "", body) != 200 || body != doc_bytes(kib, 0))
        return std::fprintf(stderr, "baseline answered wrongly for %s\n", expect_id.c_str()), 1;
    }
    // hiegate, uncached: every document once (the first fetch of id 0 is
    // checked here and counted as its warm-up).
    auto fetch = [&](HttpConn& c, int, long i) {
      std::string body;
      return c.request("GET", "/v1/facilities/" + code_b + "/documents/" + doc_id(kib, i % n), as_user("dr-bench"),
                       "", body) == 200 &&
             body.size() > kib * 1024 * 4 / 3;
    };
    Phase un{"hiegate", "uncached", kib, drive(a.port(), conns, seconds * 4, n, fetch)};
    {
      std::string body;
      if (a.call("GET", "/v1/facilities/" + code_b + "/documents/" + expect_id, "dr-bench", "", &body) != 200)
        return std::fprintf(stderr, "hiegate fetch failed: %s\n", body.c_str()), 1;
      const json j = json::parse(body, nullptr, false);
      const auto bytes = crypto::from_base64(j.value("content_base64", std::string()));
      if (!bytes || std::string(bytes->begin(), bytes->end()) != doc_bytes(kib, 0) || !j.value("cached", false))
        return std::fprintf(stderr, "hiegate answered wrongly for %s\n", expect_id.c_str()), 1;
    }
    Phase ca{"hiegate", "cached", kib, drive(a.port(), conns, seconds, 0, fetch)};
    Phase ng{"stunnel4+nginx", "static", kib, drive(st_client, conns, seconds, 0, [&](HttpConn& c, int, long i) {
               std::string body;
               return c.request("GET", "/" + doc_id(kib, i % n), {}, "", body) == 200 && body.size() == kib * 1024;
             })};
    phases.push_back(std::move(un));
    phases.push_back(std::move(ca));
    phases.push_back(std::move(ng));
  }

  std::printf("closed loop, %d keep-alive connections, %.1f s per phase (uncached: each document once)\n\n", conns,
              seconds);
  std::printf("| size       | path           | mode     | answers |    req/s |  p50 ms  |  p99 ms  | errs |\n");
  std::printf("|-----------:|----------------|----------|--------:|---------:|---------:|---------:|-----:|\n");
  for (auto& p : phases) row(p);
  std::printf("\nratios hiegate/(stunnel4+nginx) req/s:");
  for (std::size_t i = 0; i + 2 < phases.size(); i += 3) {
    std::printf("  %zu KiB uncached %.2f cached %.2f;", phases[i].kib, phases[i].r.per_s() / phases[i + 2].r.per_s(),
                phases[i + 1].r.per_s() / phases[i + 2].r.per_s());
  }
  std::printf("\n");
  return 0;
}
