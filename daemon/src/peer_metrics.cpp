#include "peer_metrics.hpp"

#include <chrono>
#include <string>
#include <vector>

namespace hiegate::daemon {
namespace {
using Samples = std::vector<Metrics::Sample>;
using Stats = transport::PeerServerStats;

void add_stat(Metrics& m, const std::shared_ptr<const PeerMetricSources>& src, std::string name, std::string help,
              std::string type, std::uint64_t Stats::*field) {
  m.add_family(std::move(name), std::move(help), std::move(type), [src, field]() -> Samples {
    const auto s = src->server();
    return {{"", s ? static_cast<double>((*s).*field) : 0.0}};
  });
}

double seconds_until(transport::SystemTime t, transport::SystemTime now) {
  return std::chrono::duration<double>(t - now).count();
}
}  // namespace

void add_peer_metrics(Metrics& m, PeerMetricSources sources) {
  const auto src = std::make_shared<const PeerMetricSources>(std::move(sources));
  add_stat(m, src, "hiegate_peer_connections_open", "Open peer API connections (handshaking, serving or idle).",
           "gauge", &Stats::open);
  add_stat(m, src, "hiegate_peer_connections_total", "Peer API connections accepted.", "counter", &Stats::accepted);
  add_stat(m, src, "hiegate_peer_connections_refused_total", "Peer API connections refused at the connection limit.",
           "counter", &Stats::over_capacity);
  add_stat(m, src, "hiegate_peer_connections_refused_per_facility_total",
           "Peer API connections answered 503 too_many_connections ([peer_api] max_connections_per_facility).",
           "counter", &Stats::over_facility_limit);
  add_stat(m, src, "hiegate_peer_connections_refused_per_address_total",
           "Peer API connections closed before their handshake ([peer_api] max_handshakes_per_address).", "counter",
           &Stats::over_address_limit);
  add_stat(m, src, "hiegate_peer_requests_rate_limited_total",
           "Peer API requests answered 429 rate_limited ([peer_api] requests_per_second_per_facility).", "counter",
           &Stats::rate_limited);
  m.add_family("hiegate_peer_handshake_failures_total", "Refused or failed peer TLS handshakes by reason.", "counter",
               [src]() -> Samples {
                 Samples out;
                 if (const auto s = src->server()) {
                   for (const auto& [reason, n] : s->handshake_failures_by_reason)
                     out.push_back({Metrics::label("reason", reason), static_cast<double>(n)});
                 }
                 return out;
               });
  add_stat(m, src, "hiegate_peer_requests_total", "Peer API requests received.", "counter", &Stats::requests);
  add_stat(m, src, "hiegate_peer_requests_forbidden_total",
           "Peer API requests refused because of the caller's identity kind (403).", "counter", &Stats::forbidden);
  add_stat(m, src, "hiegate_peer_received_bytes_total", "HTTP bytes received on the peer API.", "counter",
           &Stats::bytes_received);
  add_stat(m, src, "hiegate_peer_sent_bytes_total", "HTTP bytes sent on the peer API.", "counter", &Stats::bytes_sent);

  m.add_family("hiegate_tls_certificate_expiry_seconds", "Seconds until our own certificate expires (negative: expired).",
               "gauge", [src]() -> Samples {
                 return {{"", seconds_until(src->credentials()->not_after(), src->now())}};
               });
  m.add_family("hiegate_tls_certificate_expiring",
               "1 when our own certificate expires within [tls] expiry_warning, else 0.", "gauge", [src]() -> Samples {
                 const auto c = src->credentials();
                 return {{"", src->now() + c->options().expiry_warning >= c->not_after() ? 1.0 : 0.0}};
               });
  m.add_family("hiegate_tls_crl_next_update_seconds", "Seconds until the CRL's nextUpdate (negative: stale).", "gauge",
               [src]() -> Samples {
                 return {{"", seconds_until(src->credentials()->crl_next_update(), src->now())}};
               });
  m.add_family("hiegate_tls_crl_state", "CRL state: 0 fresh, 1 stale within grace, 2 stale beyond grace (refusing).",
               "gauge", [src]() -> Samples {
                 const auto c = src->credentials();
                 const auto now = src->now();
                 return {{"", !c->crl_usable(now) ? 2.0 : c->crl_stale(now) ? 1.0 : 0.0}};
               });
}

}  // namespace hiegate::daemon
