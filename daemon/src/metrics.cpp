#include "hiegate/daemon/metrics.hpp"

#include <array>
#include <cstdio>

namespace hiegate::daemon {
namespace {
constexpr std::array<double, 13> kBuckets = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                             0.25,  0.5,    1.0,   2.5,  5.0,   10.0};

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}
}  // namespace

Metrics::Metrics() = default;

void Metrics::request_done(std::string_view route, unsigned status, double seconds) {
  std::lock_guard lk(mu_);
  auto it = routes_.find(route);
  if (it == routes_.end()) {
    it = routes_.emplace(std::string(route), RouteStats{}).first;
    it->second.buckets.assign(kBuckets.size(), 0);
  }
  RouteStats& r = it->second;
  ++r.by_status[status];
  for (std::size_t i = 0; i < kBuckets.size(); ++i) {
    if (seconds <= kBuckets[i]) {
      ++r.buckets[i];
      break;
    }
  }
  r.sum += seconds;
  ++r.count;
}

void Metrics::add_gauge(std::string name, std::string help, std::function<double()> read) {
  add_gauge_family(std::move(name), std::move(help), [r = std::move(read)] { return Samples{{"", r()}}; });
}

void Metrics::add_gauge_family(std::string name, std::string help, std::function<Samples()> read) {
  std::lock_guard lk(mu_);
  gauges_.push_back(Gauge{std::move(name), std::move(help), std::move(read)});
}

std::atomic<std::uint64_t>& Metrics::counter(const std::string& name, const std::string& help) {
  std::lock_guard lk(mu_);
  auto [it, inserted] = counters_.try_emplace(name);
  if (inserted) it->second.help = help;
  return it->second.value;
}

std::string Metrics::render() const {
  std::string out;
  out.reserve(4096);
  std::lock_guard lk(mu_);
  out += "# HELP hiegate_http_requests_total Local API requests by route pattern and status.\n";
  out += "# TYPE hiegate_http_requests_total counter\n";
  for (const auto& [route, r] : routes_) {
    for (const auto& [status, n] : r.by_status) {
      out += "hiegate_http_requests_total{route=\"" + route + "\",status=\"" +
             std::to_string(status) + "\"} " + std::to_string(n) + "\n";
    }
  }
  out += "# HELP hiegate_http_request_duration_seconds Local API request latency.\n";
  out += "# TYPE hiegate_http_request_duration_seconds histogram\n";
  for (const auto& [route, r] : routes_) {
    std::uint64_t cum = 0;
    for (std::size_t i = 0; i < kBuckets.size(); ++i) {
      cum += r.buckets[i];
      out += "hiegate_http_request_duration_seconds_bucket{route=\"" + route + "\",le=\"" +
             num(kBuckets[i]) + "\"} " + std::to_string(cum) + "\n";
    }
    out += "hiegate_http_request_duration_seconds_bucket{route=\"" + route + "\",le=\"+Inf\"} " +
           std::to_string(r.count) + "\n";
    out += "hiegate_http_request_duration_seconds_sum{route=\"" + route + "\"} " + num(r.sum) + "\n";
    out += "hiegate_http_request_duration_seconds_count{route=\"" + route + "\"} " +
           std::to_string(r.count) + "\n";
  }
  out += "# HELP hiegate_http_open_connections Open local API connections.\n";
  out += "# TYPE hiegate_http_open_connections gauge\n";
  out += "hiegate_http_open_connections " + std::to_string(open_connections()) + "\n";
  out += "# HELP hiegate_http_rejected_connections_total Connections refused at the limit.\n";
  out += "# TYPE hiegate_http_rejected_connections_total counter\n";
  out += "hiegate_http_rejected_connections_total " +
         std::to_string(rejected_connections_.load(std::memory_order_relaxed)) + "\n";
  for (const auto& [name, c] : counters_) {
    out += "# HELP " + name + " " + c.help + "\n# TYPE " + name + " counter\n";
    out += name + " " + std::to_string(c.value.load(std::memory_order_relaxed)) + "\n";
  }
  for (const auto& g : gauges_) {
    out += "# HELP " + g.name + " " + g.help + "\n# TYPE " + g.name + " gauge\n";
    for (const auto& [labels, value] : g.read()) {
      out += g.name + (labels.empty() ? "" : "{" + labels + "}") + " " + num(value) + "\n";
    }
  }
  return out;
}

}  // namespace hiegate::daemon
