// [audit]: the audit trail's checkpoints, group commit, retention and live
// syslog copy (docs/audit.md).
#include <charconv>

#include "config_tunnels.hpp"

namespace hiegate::daemon {

std::optional<SyslogTarget> parse_syslog_target(std::string_view v) {
  SyslogTarget t;
  if (v.rfind("unix:", 0) == 0) {
    t.unix_path = std::string(v.substr(5));
    if (t.unix_path.empty() || t.unix_path.front() != '/' || t.unix_path.size() > 100) return std::nullopt;
    return t;
  }
  if (v.rfind("tls://", 0) != 0) return std::nullopt;
  v.remove_prefix(6);
  const auto colon = v.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return std::nullopt;
  std::string_view host = v.substr(0, colon);
  const std::string_view port = v.substr(colon + 1);
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return std::nullopt;
    host = host.substr(1, host.size() - 2);
  }
  for (char c : host) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '-' || c == ':';
    if (!ok) return std::nullopt;
  }
  unsigned p = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (ec != std::errc() || end != port.data() + port.size() || p == 0 || p > 65535) return std::nullopt;
  t.tls_host = std::string(host);
  t.tls_port = static_cast<std::uint16_t>(p);
  return t;
}

namespace config_detail {

void read_audit(Section& s, Config::Audit& a) {
  constexpr long long kDay = 86'400'000;
  s.uint("checkpoint_every", a.checkpoint_every, 1, 1'000'000);
  s.duration("checkpoint_interval", a.checkpoint_interval, Millis(1000), Millis(kDay));
  s.uint_as("group_max_records", a.group_max_records, 1, 65'536);
  s.duration("group_max_wait", a.group_max_wait, Millis(0), Millis(100));
  s.duration("retention", a.retention, Millis(kDay), Millis(100LL * 366 * kDay));
  s.string("syslog", a.syslog, false, [](const std::string& v) -> std::string {
    if (v.empty() || parse_syslog_target(v)) return "";
    return "must be \"unix:/ABSOLUTE/PATH\" or \"tls://HOST:PORT\" (or \"\" for none)";
  });
  s.path("syslog_ca", a.syslog_ca, true);
  s.uint_as("syslog_backlog", a.syslog_backlog, 1, 10'000'000);
  const auto t = parse_syslog_target(a.syslog);
  if (t && !t->tls_host.empty() && a.syslog_ca.empty()) {
    s.diag().add(s.table(), s.key_path("syslog_ca"),
                 "is required with a tls:// collector (the CA that issued the collector's certificate)");
  }
  s.finish();
}

}  // namespace config_detail
}  // namespace hiegate::daemon
