// The cost of the durable audit on the local API: the real LocalApiServer
// and Router, in this process, serving one route two ways side by side —
// wrapped by the real audited_route (every answer waits for its record to be
// durable in the AuditLog: group commit, WAL flushed before the answer) and the same
// handler unwrapped. The handler does what a light clinical route does: a
// user lookup in the encrypted Store, then a JSON answer. The daemon never
// runs unaudited; the unwrapped route exists only here.
//
// Two ratios: closed-loop throughput, and CPU time per request (this whole
// process: server, audit threads and client threads). The second is the
// throughput ratio the audit allows once the machine's CPUs are the limit,
// and it is steadier than throughput on a shared machine.
//   build/bench/bench_api [seconds=2] [connections=1,16,64] [--reps N] [--dir DIR]
// (DIR: where the store and the trail live; use the state disk, fsync is
// the point.)
#include <boost/asio/executor_work_guard.hpp>

#include <cstdio>
#include <future>
#include <ctime>
#include <sstream>

#include "bench_cpu.hpp"
#include "bench_http.hpp"
#include "clinical_common.hpp"
#include "hiegate/crypto/keys.hpp"
#include "hiegate/daemon/access_watch.hpp"
#include "hiegate/daemon/audit.hpp"
#include "hiegate/daemon/local_api_server.hpp"
#include "hiegate/daemon/store.hpp"

namespace {
using namespace hiegate;
using namespace hiegate::bench;
using namespace hiegate::daemon;
using nlohmann::json;

/// The handler both routes share: a user lookup in the store, then 200.
Handler lookup(Gateway& gw) {
  return [&gw](ApiRequest& req, Responder r) {
    auto rp = std::make_shared<Responder>(std::move(r));
    find_user(gw, std::string(req.msg[kUserHeader]), [rp](Result<std::optional<policy::UserRecord>> u) {
      if (!u) return rp->send(store_error(u.error()));
      rp->send(json_response(http::status::ok, {{"known", u->has_value()}}));
    });
  };
}

/// The other handler: what GET /v1/documents/{id} does for a document this
/// facility holds — the document's row, the user, then the 10 KiB content
/// opened from the store and answered as raw bytes.
Handler read_document(Gateway& gw) {
  return [&gw](ApiRequest& req, Responder r) {
    auto rp = std::make_shared<Responder>(std::move(r));
    const std::string user(req.msg[kUserHeader]);
    gw.store.get_document("bench-doc", [&gw, rp, user](Result<DocumentRecord> d) {
      if (!d) return rp->send(store_error(d.error()));
      auto meta = std::make_shared<json>(json::parse(d->metadata_json, nullptr, false));
      find_user(gw, user, [&gw, rp, meta, size = d->content_size](Result<std::optional<policy::UserRecord>> u) {
        if (!u) return rp->send(store_error(u.error()));
        read_all_content(gw, "bench-doc", size, size, [rp, meta](Result<HeldContent> content) {
          if (!content) return rp->send(store_error(content.error()));
          json m = *meta;
          m["id"] = "bench-doc";
          m["size"] = content->bytes.size();
          rp->send(document_response(true, std::move(m), std::move(content->bytes)));
        });
      });
    });
  };
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 2;
  int reps = 1;
  std::vector<int> conn_counts{1, 16, 64};
  fs::path dir;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--dir" && i + 1 < argc) {
      dir = argv[++i];
    } else if (a == "--reps" && i + 1 < argc) {
      reps = std::atoi(argv[++i]);
    } else if (i == 1) {
      seconds = std::atof(argv[i]);
    } else if (i == 2) {
      conn_counts.clear();
      std::stringstream ss(a);
      for (std::string n; std::getline(ss, n, ',');) conn_counts.push_back(std::atoi(n.c_str()));
    }
  }
  if (seconds <= 0 || seconds > 60 || conn_counts.empty() || reps < 1 || reps > 9 ||
      std::any_of(conn_counts.begin(), conn_counts.end(), [](int c) { return c < 1 || c > 256; }))
    return std::fprintf(stderr, "usage: bench_api [seconds 0-60] [conns,conns,... each 1-256] [--reps 1-9] [--dir DIR]\n"),
           2;
  const bool own_dir = dir.empty();
  if (own_dir) {
    char tmpl[] = "/tmp/bench_api.XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) return 1;
    dir = tmpl;
  }
  fs::create_directories(dir);
  std::ofstream(dir / "master-key", std::ios::binary) << std::string(32, '\7');  // the key below; config wants a path

  const auto text = std::string("[network]\nid = \"benchnet\"\nfacility = \"1300000001\"\n[daemon]\nstate_dir = \"") +
                    dir.string() + "\"\n[store]\nmaster_key = \"" + (dir / "master-key").string() +
                    "\"\n[local_api]\nlisten = [\"127.0.0.1:0\"]\nunix_socket = \"\"\n" +
                    "max_connections = 1024\n[[local_api.tokens]]\nname = \"bench\"\nhash = \"sha256:" +
                    crypto::to_hex(crypto::sha256(std::string(kBenchToken))) + "\"\n";
  const auto loaded = parse_config(text, "bench");
  if (!loaded.config) {
    return std::fprintf(stderr, "config:\n%s\n", loaded.report().c_str()), 1;
  }
  const ConfigPtr cfg = loaded.config;
  auto ring = crypto::KeyRing::from_master_keys({{1, crypto::Bytes(32, 7)}});
  if (!ring) return 1;
  auto keys = std::make_shared<const crypto::KeyRing>(std::move(ring).value());
  Logger logger(Logger::Sink::stderr_text, Level::warning);
  Metrics metrics;
  StoreOptions so;
  so.dir = dir / "store";
  auto store = Store::open(so, keys);
  AuditOptions ao;
  ao.dir = dir / "audit";
  auto audit = AuditLog::open(ao, keys, logger);
  if (!store || !audit) return std::fprintf(stderr, "store or audit trail did not open\n"), 1;

  boost::asio::io_context ioc;
  Gateway gw{ioc, logger, metrics, [cfg] { return cfg; }, [] { return policy::Time(std::chrono::seconds(1'800'000'000)); },
             **store};
  gw.audit = audit->get();
  AccessWatch watch;  // every audited record passes it, as in the daemon ([alerts])
  gw.watch = &watch;
  Router router;
  router.add(http::verb::get, "/v1/bench/plain/{id}", lookup(gw));
  router.add(http::verb::get, "/v1/bench/audited/{id}",
             audited_route(gw, "user_lookup", AuditAction::read, lookup(gw)));
  router.add(http::verb::get, "/v1/bench/plain-doc/{id}", read_document(gw));
  router.add(http::verb::get, "/v1/bench/audited-doc/{id}",
             audited_route(gw, "document_read_local", AuditAction::read, read_document(gw)));
  {
    // One 10 KiB document to read back.
    auto content = std::make_shared<std::string>(10 * 1024, 'x');
    content->replace(0, 9, "%PDF-1.7\n");
    auto pos = std::make_shared<std::size_t>(0);
    crypto::Source src = [content, pos](std::span<std::uint8_t> out) -> Result<std::size_t> {
      const std::size_t n = std::min(out.size(), content->size() - *pos);
      std::copy_n(content->data() + *pos, n, out.data());
      *pos += n;
      return n;
    };
    std::promise<Status> published;
    (*store)->publish({"bench-patient", "bench-doc", R"({"type":"discharge_summary","content_type":"application/pdf"})",
                       1'800'000'000, 0},
                      std::move(src), [&published](Result<void> r) { published.set_value(r ? Status{} : Status(r.error())); });
    if (auto st = published.get_future().get(); !st) {
      return std::fprintf(stderr, "publish: %s\n", st.error().message.c_str()), 1;
    }
  }
  LocalApiServer server({ioc, logger, metrics, router, [cfg] { return cfg; }, nullptr});
  if (auto st = server.start(*cfg); !st) return std::fprintf(stderr, "server: %s\n", st.error().message.c_str()), 1;
  const std::string ep = server.endpoints().at(0);
  const auto port = static_cast<std::uint16_t>(std::stoi(ep.substr(ep.rfind(':') + 1)));
  auto work = boost::asio::make_work_guard(ioc);
  std::vector<std::thread> io;  // two io threads, as the daemon's default
  for (int i = 0; i < 2; ++i) {
    io.emplace_back([&ioc] {
      name_thread("bench-io");
      ioc.run();
    });
  }

  std::printf("closed loop, %.1f s per phase; of %d pairs of phases (unaudited, audited), the one with the median "
              "ratio\n",
              seconds, reps);
  struct Row {
    std::string handler;
    int conns;
    double ratio, cpu_ratio;
  };
  // CPU per request by role: io threads, audit writer, flusher, store
  // readers; the rest is the clients (and the store's writer, idle here).
  constexpr int kRoles = 4;
  const char* roles[kRoles] = {"bench-io", "hiegate-audit", "hiegate-auditfs", "hiegate-storer"};
  struct Cpu {
    double total = 0;
    double role[kRoles] = {};
  };
  std::vector<Row> summary;
  struct Breakdown {
    std::string handler;
    int conns;
    Cpu off, on;
  };
  std::vector<Breakdown> breakdown;
  auto cpu_now = [&] {
    Cpu c;
    c.total = process_cpu();
    for (int i = 0; i < kRoles; ++i) c.role[i] = thread_cpu(roles[i]);
    return c;
  };
  const struct {
    const char* name;
    const char* plain;
    const char* audited;
    const char* accept;
  } handlers[] = {{"user lookup + JSON answer (the lightest audited request)", "plain", "audited", nullptr},
                  {"local document read, 10 KiB, raw bytes", "plain-doc", "audited-doc", "application/octet-stream"}};
  for (const auto& h : handlers) {
    std::printf("\nhandler: %s\n\n", h.name);
    std::printf("| connections | unaudited req/s | audited req/s | ratio | p50 ms (off / on) | p99 ms (off / on) "
                "| added p99 ms | CPU µs/request (off / on) | CPU ratio |\n");
    std::printf("|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (const int conns : conn_counts) {
      auto phase = [&](const char* kind, Cpu& per_request) {
        const Cpu c0 = cpu_now();
        auto r = drive(port, conns, seconds, 0, [kind, &h](HttpConn& c, int t, long i) {
          std::string body;
          auto headers = as_user("user-" + std::to_string(t));
          if (h.accept != nullptr) headers["Accept"] = h.accept;
          return c.request("GET", std::string("/v1/bench/") + kind + "/" + std::to_string(i), headers, "", body) ==
                 200;
        });
        const Cpu c1 = cpu_now();
        const double n = static_cast<double>(std::max(r.ok, 1L));
        per_request.total = (c1.total - c0.total) * 1e6 / n;
        for (int k = 0; k < kRoles; ++k) per_request.role[k] = (c1.role[k] - c0.role[k]) * 1e6 / n;
        return r;
      };
      // `reps` pairs of phases, unaudited then audited, side by side; the
      // pair with the median throughput ratio is reported (this machine's
      // runs vary, and a pair shares its conditions).
      struct Pair {
        LoadResult off, on;
        Cpu cpu_off, cpu_on;
        double ratio() const { return off.per_s() > 0 ? on.per_s() / off.per_s() : 0; }
      };
      std::vector<Pair> pairs(static_cast<std::size_t>(reps));
      for (auto& p : pairs) {
        p.off = phase(h.plain, p.cpu_off);
        p.on = phase(h.audited, p.cpu_on);
        if (p.off.failed + p.on.failed > 0) std::fprintf(stderr, "%ld failed requests\n", p.off.failed + p.on.failed);
      }
      std::sort(pairs.begin(), pairs.end(), [](const Pair& a, const Pair& b) { return a.ratio() < b.ratio(); });
      auto& median = pairs[pairs.size() / 2];
      auto& off = median.off;
      auto& on = median.on;
      const Cpu cpu_off = median.cpu_off, cpu_on = median.cpu_on;
      const double cpu_ratio = cpu_on.total > 0 ? cpu_off.total / cpu_on.total : 0;
      breakdown.push_back({h.plain, conns, cpu_off, cpu_on});
      std::printf("| %d | %.0f | %.0f | %.2f | %.2f / %.2f | %.2f / %.2f | %.2f | %.1f / %.1f | %.2f |\n", conns,
                  off.per_s(), on.per_s(), on.per_s() / off.per_s(), off.pct(0.5) / 1000, on.pct(0.5) / 1000,
                  off.pct(0.99) / 1000, on.pct(0.99) / 1000, (on.pct(0.99) - off.pct(0.99)) / 1000, cpu_off.total, cpu_on.total,
                  cpu_ratio);
      summary.push_back({h.plain == std::string("plain") ? "audited local API" : "audited local document read",
                         conns, on.per_s() / off.per_s(), cpu_ratio});
    }
  }
  std::printf("\nCPU µs per request by thread (off / on):\n\n"
              "| handler | connections | io threads | audit writer | audit flusher | store readers | clients | total |\n"
              "|---|---:|---:|---:|---:|---:|---:|---:|\n");
  for (const auto& b : breakdown) {
    std::printf("| %s | %d |", b.handler.c_str(), b.conns);
    auto rest = [](const Cpu& c) {
      double r = c.total;
      for (double v : c.role) r -= v;
      return r;
    };
    for (int k = 0; k < kRoles; ++k) std::printf(" %.1f / %.1f |", b.off.role[k], b.on.role[k]);
    std::printf(" %.1f / %.1f |", rest(b.off), rest(b.on));
    std::printf(" %.1f / %.1f |\n", b.off.total, b.on.total);
  }
  std::printf("\n");
  for (const auto& r : summary) {
    std::printf("RATIO|%s, %d connections|auditing off, req/s|%.2f|>= 0.80\n", r.handler.c_str(), r.conns, r.ratio);
  }
  for (const auto& r : summary) {
    std::printf("RATIO|%s, %d connections, CPU per request|auditing off|%.2f|>= 0.80\n", r.handler.c_str(), r.conns,
                r.cpu_ratio);
  }
  server.close_all();
  work.reset();
  ioc.stop();
  for (auto& t : io) t.join();
  audit->reset();
  store->reset();
  if (own_dir) fs::remove_all(dir);
  return 0;
}
