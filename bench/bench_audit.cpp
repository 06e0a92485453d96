// Audit trail throughput and added latency with N concurrent appenders, each
// waiting for its record to be durable before "answering" (as request
// handlers do). Modes: durable group commit (each commit's WAL flushed before
// its callbacks), the same without any flush (synchronous=OFF), and no
// audit at all.
//
// Run: build/bench/bench_audit [--seconds S] [--threads 1,8,32] [--dir DIR]
// (DIR defaults to a fresh directory under $TMPDIR; use the state disk).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <unistd.h>
#include <ctime>
#include <fstream>
#include <filesystem>
#include <future>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench_cpu.hpp"
#include "hiegate/crypto/keys.hpp"
#include "hiegate/daemon/audit.hpp"
#include "hiegate/daemon/log.hpp"

namespace {

using namespace hiegate;
using bench::process_cpu;
using bench::thread_cpu;
using Clock = std::chrono::steady_clock;

struct Measured {
  double per_second = 0, p50_us = 0, p99_us = 0;
  double cpu_us = 0, writer_us = 0, flusher_us = 0;  // CPU per append: process, audit writer, flusher
};

daemon::AuditRecord record(int t, int i) {
  daemon::AuditRecord r;
  r.event = "document_read";
  r.facility = "F-LOCAL";
  r.user = "user-" + std::to_string(t);
  r.role = "physician";
  r.peer_facility = "F-PEER";
  r.patient = "P" + std::to_string(i % 1000);
  r.purpose = "treatment";
  r.document_ids = {"DOC-" + std::to_string(i)};
  r.request_id = std::to_string(t) + "-" + std::to_string(i);
  return r;
}

Measured run(daemon::AuditLog* log, int threads, double seconds) {
  const double cpu0 = process_cpu(), w0 = thread_cpu("hiegate-audit"), f0 = thread_cpu("hiegate-auditfs");
  std::vector<std::vector<double>> lat(static_cast<std::size_t>(threads));
  std::atomic<std::uint64_t> count{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> ts;
  const auto start = Clock::now();
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([&, t] {
      auto& mine = lat[static_cast<std::size_t>(t)];
      for (int i = 0; !stop.load(std::memory_order_relaxed); ++i) {
        const auto t0 = Clock::now();
        if (log != nullptr) {
          std::promise<Status> p;
          auto f = p.get_future();
          log->append(record(t, i), [&p](Status st) { p.set_value(std::move(st)); });
          if (!f.get()) std::abort();
        }
        count.fetch_add(1, std::memory_order_relaxed);
        // Latency samples are capped (the no-audit loop runs millions of times).
        if (mine.size() < 1'000'000) mine.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& t : ts) t.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  std::vector<double> all;
  for (auto& v : lat) all.insert(all.end(), v.begin(), v.end());
  std::sort(all.begin(), all.end());
  Measured r;
  r.per_second = static_cast<double>(count.load()) / elapsed;
  const double n = static_cast<double>(std::max<std::uint64_t>(count.load(), 1));
  r.cpu_us = (process_cpu() - cpu0) * 1e6 / n;
  r.writer_us = (thread_cpu("hiegate-audit") - w0) * 1e6 / n;
  r.flusher_us = (thread_cpu("hiegate-auditfs") - f0) * 1e6 / n;
  if (!all.empty()) {
    r.p50_us = all[all.size() / 2];
    r.p99_us = all[std::min(all.size() - 1, all.size() * 99 / 100)];
  }
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 2;
  std::vector<int> thread_counts{1, 8, 32};
  std::filesystem::path dir;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--seconds") {
      seconds = std::stod(argv[i + 1]);
    } else if (a == "--dir") {
      dir = argv[i + 1];
    } else if (a == "--threads") {
      thread_counts.clear();
      std::stringstream ss(argv[i + 1]);
      for (std::string n; std::getline(ss, n, ',');) thread_counts.push_back(std::stoi(n));
    } else {
      std::fprintf(stderr, "usage: bench_audit [--seconds S] [--threads 1,8,32] [--dir DIR]\n");
      return 2;
    }
  }
  if (dir.empty()) {
    char tmpl[] = "/tmp/bench_audit.XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) return 1;
    dir = tmpl;
  }
  const crypto::Bytes master(32, 7);
  auto ring = crypto::KeyRing::from_master_keys({{1, master}});
  if (!ring) return 1;
  auto keys = std::make_shared<const crypto::KeyRing>(std::move(ring).value());
  daemon::Logger logger(daemon::Logger::Sink::stderr_text, daemon::Level::warning);
  std::printf("%-22s %8s %12s %10s %10s %10s %10s %10s\n", "mode", "threads", "appends/s", "p50 us", "p99 us",
              "CPU us", "writer us", "flush us");
  std::vector<std::pair<int, double>> durable_vs_off;
  for (int threads : thread_counts) {
    double durable_rate = 0;
    for (const char* mode : {"durable", "no fsync (OFF)", "no audit"}) {
      Measured r;
      const bool none = std::strcmp(mode, "no audit") == 0;
      if (none) {
        r = run(nullptr, threads, seconds);
      } else {
        daemon::AuditOptions opt;
        opt.dir = dir / (std::string(mode).substr(0, 2) + std::to_string(threads));
        opt.durable = mode[0] == 'd';
        auto log = daemon::AuditLog::open(opt, keys, logger);
        if (!log) {
          std::fprintf(stderr, "error: %s\n", log.error().message.c_str());
          return 1;
        }
        r = run(log->get(), threads, seconds);
      }
      std::printf("%-22s %8d %12.0f %10.1f %10.1f %10.2f %10.2f %10.2f\n", mode, threads, r.per_second, r.p50_us,
                  r.p99_us, r.cpu_us, r.writer_us, r.flusher_us);
      if (mode[0] == 'd') durable_rate = r.per_second;
      if (std::strcmp(mode, "no fsync (OFF)") == 0 && r.per_second > 0)
        durable_vs_off.push_back({threads, durable_rate / r.per_second});
    }
  }
  for (const auto& [threads, ratio] : durable_vs_off)
    std::printf("RATIO|audit append, durable, %d threads|no fsync, appends/s|%.2f|\n", threads, ratio);
  std::filesystem::remove_all(dir);
  return 0;
}
