// Secretariat orders: how fast a pushed stop takes effect, and how long
// `hiegate-secretariat push` takes to reach N gateways and collect their
// acknowledgements. Real hiegated processes on loopback with a dev PKI.
//   build/bench/bench_directives [gateways=20] [rounds=20]
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <csignal>
#include <cstdlib>
#include <future>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include "hiegate/crypto/encoding.hpp"
#include "hiegate/crypto/primitives.hpp"
#include "hiegate/transport/credentials.hpp"
#include "hiegate/transport/peer_client.hpp"
#include "policy/directive_kit.hpp"
#include "support/http_client.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace {

using namespace hiegate;
using nlohmann::json;
using Clock = std::chrono::steady_clock;
using policy::testing::DirectiveKit;

constexpr const char* kToken = "hgt_bench-directives-token";

struct Gw {
  std::string facility;
  std::uint16_t peer_port = 0;
  std::string local;  ///< 127.0.0.1:PORT of the local API
  std::unique_ptr<test::Child> child;
};

double ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

void summary(const char* what, std::vector<double> v) {
  if (v.empty()) return std::printf("%-46s no samples\n", what), void();
  std::sort(v.begin(), v.end());
  std::printf("%-46s median %7.2f ms  min %7.2f  max %7.2f  (n=%zu)\n", what, v[v.size() / 2], v.front(),
              v.back(), v.size());
}

struct Orders {
  DirectiveKit kit;
  std::string issued, expires;
  std::uint64_t sequence = 0;
  Orders() {
    const auto now = std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
    issued = policy::format_rfc3339(now - std::chrono::minutes(1));
    expires = policy::format_rfc3339(now + std::chrono::hours(23));
  }
  /// The next orders set (stopping `stop` if not empty) and its heartbeat.
  std::vector<std::string> next(const std::string& stop) {
    ++sequence;
    json list = json::array();
    if (!stop.empty())
      list.push_back({{"id", "bench-" + std::to_string(sequence)}, {"action", "stop"},
                      {"audience", json::array({stop})}, {"reason", "maintenance"}});
    const std::string body = DirectiveKit::orders_body(sequence, list, 1, issued);
    return {kit.signed_orders(body),
            kit.signed_heartbeat(DirectiveKit::heartbeat_body(sequence, sequence, body, issued, expires))};
  }
  std::string array(const std::string& stop) {
    const auto e = next(stop);
    return "[" + e[0] + "," + e[1] + "]";
  }
};

/// Status of one publish attempt: 503 once stopped.
int probe(const std::string& local) {
  return test::http_request(test::Endpoint{local}, "PUT", "/v1/documents/probe",
                            {{"Authorization", std::string("Bearer ") + kToken}, {"X-HIE-User", "bench"},
                             {"Content-Type", "application/json"}},
                            "{}", std::chrono::seconds(5))
      .status;
}

}  // namespace

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::clamp(std::atoi(argv[1]), 1, 200) : 20;
  const int rounds = argc > 2 ? std::max(1, std::atoi(argv[2])) : 20;
  test::TempDir dir;
  const auto pki = dir / "pki";
  auto r = test::run({test::binary("hiegate-secretariat").string(), "pki", "dev-network", "--facilities",
                      std::to_string(n), "--network", "nishitama", "--out", pki.string()});
  if (r.status != 0) return std::fprintf(stderr, "pki: %s\n", r.output.c_str()), 1;
  Orders orders;
  const auto anchor = dir.write("keyset.json", orders.kit.keyset(1));
  const std::string hash = "sha256:" + crypto::to_hex(crypto::sha256(kToken));

  std::vector<Gw> gws(static_cast<std::size_t>(n));
  std::string peers_toml = "network = \"nishitama\"\n";
  for (int i = 0; i < n; ++i) {
    char code[16];
    std::snprintf(code, sizeof code, "13%08d", i + 1);
    gws[static_cast<std::size_t>(i)].facility = code;
    gws[static_cast<std::size_t>(i)].peer_port = test::free_port();
    peers_toml += "[[peer]]\nfacility = \"" + std::string(code) + "\"\nhost = \"127.0.0.1\"\nport = " +
                  std::to_string(gws[static_cast<std::size_t>(i)].peer_port) + "\n";
  }
  for (auto& g : gws) {
    const auto home = dir / g.facility;
    std::filesystem::create_directories(home / "state");
    const auto key = crypto::random_bytes(32);
    dir.write(g.facility + "/master-key", std::string(key.begin(), key.end()), 0400);
    const auto cert = pki / "facilities" / g.facility;
    const std::string cfg =
        "[network]\nid = \"nishitama\"\nfacility = \"" + g.facility + "\"\n[daemon]\nthreads = 2\nstate_dir = \"" +
        (home / "state").string() + "\"\n[store]\nmaster_key = \"" + (home / "master-key").string() +
        "\"\n[local_api]\nlisten = [\"127.0.0.1:0\"]\nunix_socket = \"\"\n[[local_api.tokens]]\nname = \"bench\"\n"
        "hash = \"" + hash + "\"\n[tls]\ncert = \"" + (cert / "cert.pem").string() + "\"\nkey = \"" +
        (cert / "key.pem").string() + "\"\nca = \"" + (pki / "ca.crt").string() + "\"\ncrl = \"" +
        (pki / "crl.pem").string() + "\"\n[peer_api]\naddress = \"127.0.0.1\"\nport = " +
        std::to_string(g.peer_port) + "\n[directives]\nkeyset = \"" + anchor.string() + "\"\n";
    const auto conf = dir.write(g.facility + "/hiegate.toml", cfg, 0640);
    std::vector<std::string> args = {test::binary("hiegated").string(), "--config", conf.string()};
    if (::geteuid() == 0) args.emplace_back("--allow-root");
    g.child = std::make_unique<test::Child>(args, std::vector<std::string>{}, home / "hiegated.log");
  }
  for (auto& g : gws) {
    const auto line = test::wait_for_line(dir / g.facility / "hiegated.log", "local API listening on 127.0.0.1:",
                                          std::chrono::seconds(60));
    std::smatch m;
    if (!line || !std::regex_search(*line, m, std::regex("127\\.0\\.0\\.1:[0-9]+")) ||
        !test::wait_for_line(dir / g.facility / "hiegated.log", "ready", std::chrono::seconds(60)))
      return std::fprintf(stderr, "gateway %s did not start\n", g.facility.c_str()), 1;
    g.local = m.str();
  }
  std::printf("%d gateways up (hiegated, 2 threads each)\n", n);

  // 1. hiegate-secretariat push to all N gateways, acknowledgements collected.
  std::vector<double> push_ms;
  for (int i = 0; i < std::min(rounds, 10); ++i) {
    const auto e = orders.next("");
    const auto o = dir.write("orders.json", e[0]);
    const auto h = dir.write("heartbeat.json", e[1]);
    const auto peers = dir.write("peers.toml", peers_toml);
    const auto t0 = Clock::now();
    r = test::run({test::binary("hiegate-secretariat").string(), "push", "--to", "all", "--envelope", o.string(),
                   "--envelope", h.string(), "--peers", peers.string(), "--cert", (pki / "secretariat").string()});
    const auto t = Clock::now() - t0;
    if (r.status != 0) return std::fprintf(stderr, "push failed:\n%s\n", r.output.c_str()), 1;
    push_ms.push_back(ms(t));
  }

  // 2. A pushed stop: from sending the PUT on a warm connection to the first
  // refused publish seen by a client hammering the gateway.
  boost::asio::io_context ioc;
  auto work = boost::asio::make_work_guard(ioc);
  std::thread io([&] { ioc.run(); });
  transport::CredentialOptions co;
  co.network = "nishitama";
  const auto sec = pki / "secretariat";
  auto creds = transport::CredentialStore::open({sec / "cert.pem", sec / "key.pem", pki / "ca.crt", pki / "crl.pem"},
                                                co, std::chrono::system_clock::now());
  if (!creds) return std::fprintf(stderr, "%s\n", creds.error().message.c_str()), 1;
  std::optional<transport::PeerClient> client;
  client.emplace(ioc, transport::TlsContext::create(*creds, {}));
  const transport::PeerAddress target{gws[0].facility, "127.0.0.1", gws[0].peer_port};
  const auto put = [&](std::string body) {
    std::promise<Clock::time_point> acked;
    transport::OutboundRequest req;
    req.method = "PUT";
    req.target = "/peer/v1/directives";
    req.body = std::move(body);
    client->async_request(target, std::move(req), [&](Result<transport::PeerResponse> a) {
      if (!a || a->status != 200) std::fprintf(stderr, "push refused: %s\n", a ? a->body.c_str() : a.error().message.c_str());
      acked.set_value(Clock::now());
    });
    return acked.get_future().get();
  };
  std::atomic<bool> stop_hammer{false};
  std::atomic<int> last_status{0};
  std::atomic<Clock::rep> first_refusal{0};
  std::thread hammer([&] {
    while (!stop_hammer) {
      const int s = probe(gws[0].local);
      const auto now = Clock::now().time_since_epoch().count();
      Clock::rep expected = 0;
      if (s == 503) first_refusal.compare_exchange_strong(expected, now);
      last_status = s;
    }
  });
  std::vector<double> refusal_ms, ack_ms;
  put(orders.array(""));  // warm the connection
  for (int i = 0; i < rounds; ++i) {
    first_refusal = 0;
    const auto t0 = Clock::now();
    const auto acked = put(orders.array(gws[0].facility));
    while (first_refusal == 0) std::this_thread::yield();
    refusal_ms.push_back(ms(Clock::duration(first_refusal.load()) - t0.time_since_epoch()));
    ack_ms.push_back(ms(acked - t0));
    put(orders.array(""));  // lift, and wait until the hammer is served again
    while (last_status == 503) std::this_thread::yield();
  }
  stop_hammer = true;
  hammer.join();
  client->shutdown();
  client.reset();
  work.reset();
  ioc.stop();
  io.join();

  std::printf("\nSecretariat orders (loopback, %d gateways)\n", n);
  summary("push sent -> first refused request", refusal_ms);
  summary("push sent -> acknowledgement", ack_ms);
  char what[64];
  std::snprintf(what, sizeof what, "hiegate-secretariat push to %d, all acks", n);
  summary(what, push_ms);
  std::sort(refusal_ms.begin(), refusal_ms.end());
  std::sort(push_ms.begin(), push_ms.end());
  if (!refusal_ms.empty()) std::printf("FIGURE|pushed stop to first refusal, median|%.1f ms|<= 10 ms\n", refusal_ms[refusal_ms.size() / 2]);
  if (!push_ms.empty()) std::printf("FIGURE|push to %d gateways, all acknowledged, median|%.0f ms|\n", n, push_ms[push_ms.size() / 2]);
  for (auto& g : gws) g.child->signal(SIGTERM);
  for (auto& g : gws) (void)g.child->wait(std::chrono::seconds(10));
  return 0;
}
