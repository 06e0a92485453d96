// How the network's figures grow with the number of peers: one asking
// gateway whose directory lists N holding gateways (real hiegated processes,
// one dev PKI), each holding documents of the same consenting patient.
//   - list: GET /v1/patients/{p}/documents fans out to all N peers in
//     parallel (mutual TLS, each peer's consent check and durable audit
//     record, the asking side's own record) and merges the answers;
//   - fetch: one document from the first peer (should not depend on N);
//   - the asking gateway's RSS after the phases.
// Closed loop, keep-alive connections, the same for every N.
//   build/bench/bench_peers [seconds=2] [conns=8] [peers=1,2,4,8]
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>

#include "bench_http.hpp"

namespace {
using namespace hiegate;
using namespace hiegate::bench;
using nlohmann::json;

constexpr const char* kPatient = "BP-0001";
constexpr int kDocsPerPeer = 2;

double rss_mib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::strtod(line.c_str() + 6, nullptr) / 1024.0;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const double seconds = argc > 1 ? std::atof(argv[1]) : 2;
  const int conns = argc > 2 ? std::atoi(argv[2]) : 8;
  std::vector<int> counts;
  {
    std::stringstream ss(argc > 3 ? argv[3] : "1,2,4,8");
    for (std::string s; std::getline(ss, s, ',');) counts.push_back(std::atoi(s.c_str()));
  }
  if (seconds <= 0 || seconds > 60 || conns < 1 || conns > 64 || counts.empty() ||
      std::any_of(counts.begin(), counts.end(), [](int n) { return n < 1 || n > 16; }) ||
      !std::is_sorted(counts.begin(), counts.end()))
    return std::fprintf(stderr, "usage: bench_peers [seconds 0-60] [conns 1-64] [N,N,... ascending, each 1-16]\n"), 2;
  const int holders = counts.back();
  const int askers = static_cast<int>(counts.size());
  // Facilities 0..holders-1 hold documents; one asking gateway per N after them.
  const BenchPki pki("bench_peers", holders + askers);
  std::vector<std::uint16_t> peer_ports;
  for (int i = 0; i < holders + askers; ++i) peer_ports.push_back(free_port());

  std::vector<std::unique_ptr<Hiegated>> held;
  for (int h = 0; h < holders; ++h) {
    std::map<int, std::uint16_t> peers;
    for (int a = 0; a < askers; ++a) peers[holders + a] = peer_ports[static_cast<std::size_t>(holders + a)];
    held.push_back(std::make_unique<Hiegated>(pki, h, peer_ports[static_cast<std::size_t>(h)], peers));
    Hiegated& gw = *held.back();
    if (gw.start() < 0) return 1;
    if (gw.put_user("clerk-1", json{{"role", "clerk"}, {"department", "医事課"}}.dump()) != 200 ||
        gw.call("PUT", std::string("/v1/consents/") + kPatient, "clerk-1",
                json{{"signed_on", "2026-01-10"}, {"scope", "*"}, {"form_ref", "paper-0001"}}.dump()) != 200)
      return std::fprintf(stderr, "set-up at holder %d refused\n", h), 1;
    for (int d = 0; d < kDocsPerPeer; ++d) {
      const std::string content = "%PDF-1.7\n" + std::string(4096, static_cast<char>('a' + d));
      const json body = {{"patient", kPatient},         {"type", "summary"},
                         {"title", "退院時サマリー"},      {"created", "2026-11-20T10:00:00Z"},
                         {"content_type", "application/pdf"}, {"content_base64", crypto::to_base64(crypto::as_bytes(content))}};
      if (gw.call("PUT", "/v1/documents/h" + std::to_string(h) + "-d" + std::to_string(d), "clerk-1", body.dump()) != 200)
        return std::fprintf(stderr, "publishing at holder %d failed\n", h), 1;
    }
  }

  std::printf("%d keep-alive connections, %.1f s per phase; %d documents per peer (4 KiB)\n\n", conns, seconds,
              kDocsPerPeer);
  std::printf("| peers | list req/s | p50 ms | p99 ms | documents per list | fetch req/s | p50 ms | p99 ms | RSS MiB | errs |\n");
  std::printf("|------:|-----------:|-------:|-------:|-------------------:|------------:|-------:|-------:|--------:|-----:|\n");
  std::vector<double> list_rates;
  for (int k = 0; k < askers; ++k) {
    const int n = counts[static_cast<std::size_t>(k)];
    std::map<int, std::uint16_t> peers;
    for (int h = 0; h < n; ++h) peers[h] = peer_ports[static_cast<std::size_t>(h)];
    Hiegated a(pki, holders + k, peer_ports[static_cast<std::size_t>(holders + k)], peers);
    if (a.start() < 0) return 1;
    if (a.put_user("dr-bench", json{{"role", "physician"}, {"department", "内科"}}.dump()) != 200)
      return std::fprintf(stderr, "set-up at the asking gateway refused\n"), 1;
    std::atomic<long> docs{0};
    auto list = [&](HttpConn& c, int, long) {
      std::string body;
      if (c.request("GET", std::string("/v1/patients/") + kPatient + "/documents", as_user("dr-bench"), "", body) !=
          200)
        return false;
      const json j = json::parse(body, nullptr, false);
      if (j.is_discarded() || j["documents"].size() != static_cast<std::size_t>(n * kDocsPerPeer)) return false;
      docs = static_cast<long>(j["documents"].size());
      return true;
    };
    auto raw = as_user("dr-bench");
    raw["Accept"] = "application/octet-stream";
    const std::string target = "/v1/facilities/" + held[0]->code() + "/documents/h0-d0";
    auto fetch = [&](HttpConn& c, int, long) {
      std::string body;
      return c.request("GET", target, raw, "", body) == 200 && body.size() == 4096 + 9;
    };
    LoadResult l = drive(a.port(), conns, seconds, 0, list);
    LoadResult f = drive(a.port(), conns, seconds, 0, fetch);
    list_rates.push_back(l.per_s());
    std::printf("| %5d | %10.1f | %6.2f | %6.2f | %18ld | %11.1f | %6.2f | %6.2f | %7.1f | %4ld |\n", n, l.per_s(),
                l.pct(0.5) / 1000, l.pct(0.99) / 1000, docs.load(), f.per_s(), f.pct(0.5) / 1000, f.pct(0.99) / 1000,
                rss_mib(a.pid()), l.failed + f.failed);
  }
  std::printf("\nlist throughput with %d peers relative to 1: %.2f (the ideal for a parallel fan-out with the\n"
              "peers on other machines is 1.0; here all %d gateways share the same cores)\n",
              counts.back(), list_rates.back() / list_rates.front(), holders + 1);
  std::printf("RATIO|list across peers|%d peers vs 1 peer, req/s|%.2f|\n", counts.back(),
              list_rates.back() / list_rates.front());
  return 0;
}
