// Prometheus metrics of the gateway, rendered in the text exposition format.
//
// Thread-safe: counters are updated from any io_context thread. Route labels
// are route *patterns* ("/v1/patients/{patient}/documents"), never concrete
// paths, so no identifier can reach the metrics.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace hiegate::daemon {

class Metrics {
public:
  Metrics();

  void request_done(std::string_view route, unsigned status, double seconds);
  void connection_opened() noexcept { open_connections_.fetch_add(1, std::memory_order_relaxed); }
  void connection_closed() noexcept { open_connections_.fetch_sub(1, std::memory_order_relaxed); }
  void connection_rejected() noexcept { rejected_connections_.fetch_add(1, std::memory_order_relaxed); }
  [[nodiscard]] std::int64_t open_connections() const noexcept {
    return open_connections_.load(std::memory_order_relaxed);
  }

  /// A gauge read when rendering (e.g. overdue exports). `name` must be a
  /// valid metric name starting with "hiegate_"; the callback must be
  /// thread-safe and cheap.
  void add_gauge(std::string name, std::string help, std::function<double()> read);
  /// A gauge with labels: `read` returns (label set, value) pairs, the label
  /// set written as Prometheus expects it (`state="stopped"`). Same rules.
  using Samples = std::vector<std::pair<std::string, double>>;
  void add_gauge_family(std::string name, std::string help, std::function<Samples()> read);
  /// A counter owned by a component; returns a stable reference.
  std::atomic<std::uint64_t>& counter(const std::string& name, const std::string& help);

  [[nodiscard]] std::string render() const;

private:
  struct RouteStats {
    std::map<unsigned, std::uint64_t> by_status;
    std::vector<std::uint64_t> buckets;  // cumulative at render time
    double sum = 0;
    std::uint64_t count = 0;
  };
  mutable std::mutex mu_;
  std::map<std::string, RouteStats, std::less<>> routes_;
  struct Gauge {
    std::string name, help;
    std::function<Samples()> read;
  };
  std::vector<Gauge> gauges_;
  struct Counter {
    std::string help;
    std::atomic<std::uint64_t> value{0};
  };
  std::map<std::string, Counter, std::less<>> counters_;
  std::atomic<std::int64_t> open_connections_{0};
  std::atomic<std::uint64_t> rejected_connections_{0};
};

}  // namespace hiegate::daemon
