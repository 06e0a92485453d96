#include "hiegate/daemon/config.hpp"

#include <boost/asio/ip/address.hpp>

#include <charconv>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <sys/stat.h>

#include "config_export.hpp"
#include "config_reader.hpp"
#include "config_tunnels.hpp"
#include "hiegate/daemon/directive_pull.hpp"
#include "hiegate/crypto/encoding.hpp"
#include "hiegate/crypto/primitives.hpp"
#include "hiegate/policy/roles.hpp"
#include "hiegate/transport/identity.hpp"

namespace hiegate::daemon {

using config_detail::Diagnostics;
using config_detail::Section;
using config_detail::type_name;

std::string ListenAddress::to_string() const {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

std::string ConfigIssue::to_string() const {
  std::string s = file;
  if (line != 0) s += ":" + std::to_string(line) + ":" + std::to_string(column);
  s += ": ";
  if (!key.empty()) s += key + ": ";
  s += message;
  return s;
}

std::string ConfigLoad::report() const {
  std::string out;
  for (const auto& i : issues) out += i.to_string() + "\n";
  return out;
}

bool parse_duration(std::string_view s, Millis& out) noexcept {
  std::uint64_t n = 0;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc{} || p == s.data()) return false;
  const std::string_view unit(p, static_cast<std::size_t>(s.data() + s.size() - p));
  std::uint64_t mult = 0;
  if (unit == "ms") mult = 1;
  else if (unit == "s") mult = 1000;
  else if (unit == "m") mult = 60'000;
  else if (unit == "h") mult = 3'600'000;
  else if (unit == "d") mult = 86'400'000;
  else return false;
  if (n > (std::uint64_t{1} << 53) / mult) return false;
  out = Millis(static_cast<Millis::rep>(n * mult));
  return true;
}

namespace {

// "127.0.0.1:8470" or "[::1]:8470"; must be a loopback address.
std::string parse_listen(const std::string& s, ListenAddress& out) {
  std::string host;
  std::string port;
  if (!s.empty() && s.front() == '[') {
    const auto close = s.find(']');
    if (close == std::string::npos || close + 1 >= s.size() || s[close + 1] != ':') {
      return "must be \"IP:PORT\" or \"[IPv6]:PORT\"";
    }
    host = s.substr(1, close - 1);
    port = s.substr(close + 2);
  } else {
    const auto colon = s.rfind(':');
    if (colon == std::string::npos || s.find(':') != colon) {
      return "must be \"IP:PORT\" or \"[IPv6]:PORT\"";
    }
    host = s.substr(0, colon);
    port = s.substr(colon + 1);
  }
  boost::system::error_code ec;
  const auto addr = boost::asio::ip::make_address(host, ec);
  if (ec) return "\"" + host + "\" is not an IP address";
  if (!addr.is_loopback()) {
    return "\"" + host + "\" is not a loopback address; the local API only listens on 127.0.0.1 or ::1";
  }
  unsigned p = 0;
  const auto [ptr, pec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (pec != std::errc{} || ptr != port.data() + port.size() || port.empty() || p > 65535) {
    return "port must be between 0 and 65535";
  }
  out.host = addr.to_string();
  out.port = static_cast<std::uint16_t>(p);
  return "";
}

void read_network(Section& s, Config::Network& n) {
  s.string("id", n.id, true, [](const std::string& v) -> std::string {
    return transport::is_network_id(v) ? "" : "must match [a-z0-9-]{1,32}";
  });
  s.string("facility", n.facility, true, [](const std::string& v) -> std::string {
    return transport::is_facility_code(v) ? "" : "must be a 10-digit medical institution code";
  });
  s.finish();
}

void read_daemon(Section& s, Config::Daemon& d) {
  s.uint_as("threads", d.threads, 1, 64);
  // Within the unit's TimeoutStopSec (30 s), so that a drain ends before
  // systemd's SIGKILL and the trail's last checkpoint is written.
  s.duration("drain_timeout", d.drain_timeout, Millis(0), Millis(25'000));
  std::string level(level_name(d.log_level));
  s.string("log_level", level, false, [&](const std::string& v) -> std::string {
    return parse_level(v, d.log_level) ? ""
                                       : "must be one of debug, info, notice, warning, error, critical";
  });
  s.path("state_dir", d.state_dir);
  s.uint_as("document_memory_bytes", d.document_memory_bytes, 1024 * 1024, std::uint64_t{1} << 40);
  s.finish();
}

constexpr const char* kHashRule = "must be \"sha256:\" followed by 64 hex digits (make one with: hiegatectl token new)";

/// "sha256:<64 hex digits>" into `out`.
bool parse_token_hash(std::string_view v, std::array<std::uint8_t, 32>& out) {
  constexpr std::string_view prefix = "sha256:";
  const auto bytes = v.starts_with(prefix) ? crypto::from_hex(v.substr(prefix.size())) : std::nullopt;
  if (!bytes || bytes->size() != out.size()) return false;
  std::copy(bytes->begin(), bytes->end(), out.begin());
  return true;
}

bool valid_token_name(std::string_view v) { return !v.empty() && v.size() <= 64; }

void read_tokens(Section& s, std::vector<TokenHash>& out) {
  const toml::node* n = s.node("tokens");
  if (n == nullptr) return;
  const auto* arr = n->as_array();
  if (arr == nullptr) {
    s.diag().add(n, s.key_path("tokens"), "must be an array of tables ([[local_api.tokens]])");
    return;
  }
  for (std::size_t i = 0; i < arr->size(); ++i) {
    const std::string path = s.key_path("tokens") + "[" + std::to_string(i) + "]";
    Section t(arr->get(i), path, s.diag());
    if (t.table() == nullptr) continue;
    TokenHash th;
    t.string("name", th.name, true, [](const std::string& v) -> std::string {
      return valid_token_name(v) ? "" : "must be 1 to 64 characters";
    });
    std::string hash;
    t.string("hash", hash, true,
             [&](const std::string& v) -> std::string { return parse_token_hash(v, th.sha256) ? "" : kHashRule; });
    t.finish();
    out.push_back(std::move(th));
  }
}

/// The tokens file: "NAME sha256:HEX" per line, '#' comments. Whoever can
/// write it can let a client in, so it must be writable by its owner only.
void read_tokens_file(Section& s, const std::filesystem::path& file, std::vector<TokenHash>& out) {
  const toml::node* at = s.node("tokens_file");
  const std::string key = s.key_path("tokens_file");
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) {
    return s.diag().add(at, key, "cannot read " + file.string() + ": " + std::strerror(errno));
  }
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    return s.diag().add(at, key, file.string() + " is writable by group or others, who could add a token to it "
                                                 "(chmod 0640)");
  }
  std::ifstream in(file);
  if (!in) return s.diag().add(at, key, "cannot read " + file.string());
  std::string line;
  for (unsigned n = 1; std::getline(in, line); ++n) {
    std::istringstream words(line);
    TokenHash th;
    std::string hash, rest;
    if (!(words >> th.name) || th.name.starts_with('#')) continue;
    const std::string where = file.string() + ":" + std::to_string(n) + ": ";
    if (!(words >> hash) || (words >> rest && !rest.starts_with('#'))) {
      s.diag().add(at, key, where + "must be NAME sha256:HEX");
    } else if (!valid_token_name(th.name)) {
      s.diag().add(at, key, where + "the name must be 1 to 64 characters");
    } else if (!parse_token_hash(hash, th.sha256)) {
      s.diag().add(at, key, where + "the hash " + kHashRule);
    } else {
      out.push_back(std::move(th));
    }
  }
}

void read_local_api(Section& s, Config::LocalApi& a) {
  if (const toml::node* n = s.node("listen")) {
    const auto* arr = n->as_array();
    if (arr == nullptr) {
      s.diag().add(n, s.key_path("listen"), "must be an array of \"IP:PORT\" strings");
    } else {
      a.listen.clear();
      for (std::size_t i = 0; i < arr->size(); ++i) {
        const toml::node* e = arr->get(i);
        const std::string path = s.key_path("listen") + "[" + std::to_string(i) + "]";
        const auto* str = e->as_string();
        ListenAddress la;
        if (str == nullptr) {
          s.diag().add(e, path, "must be a string, not " + type_name(*e));
        } else if (std::string err = parse_listen(str->get(), la); !err.empty()) {
          s.diag().add(e, path, err);
        } else {
          a.listen.push_back(la);
        }
      }
    }
  }
  s.path("unix_socket", a.unix_socket, true);
  s.file_mode("unix_socket_mode", a.unix_socket_mode);
  read_tokens(s, a.tokens);
  s.path("tokens_file", a.tokens_file, true);
  if (a.tokens_file.is_absolute()) read_tokens_file(s, a.tokens_file, a.tokens);
  s.uint_as("max_header_bytes", a.max_header_bytes, 1024, 1024 * 1024);
  s.uint_as("max_body_bytes", a.max_body_bytes, 1024, std::uint64_t{1} << 32);
  s.uint_as("max_document_bytes", a.max_document_bytes, 1024, std::uint64_t{1} << 40);
  s.duration("request_timeout", a.request_timeout, Millis(100), Millis(3'600'000));
  s.duration("idle_timeout", a.idle_timeout, Millis(100), Millis(3'600'000));
  s.uint_as("max_connections", a.max_connections, 1, 100'000);
  s.finish();
}

std::string check_role(const std::string& v) {
  return policy::parse_role(v) ? ""
                               : "\"" + v +
                                     "\" is not a role (physician, nurse, pharmacist, technician, "
                                     "clerk, approver, admin)";
}

std::string check_fallback(const std::string& v) {
  return (v == "emergency_only" || v == "stop" || v == "keep") ? ""
                                                              : "must be emergency_only, stop or keep";
}

void read_store(Section& s, Config::Store& st) {
  s.path("master_key", st.master_key);
  s.uint("cache_max_bytes", st.cache_max_bytes, 0, std::uint64_t{1} << 40);  // 0: keep no copies
  s.uint("cache_max_document_bytes", st.cache_max_document_bytes, 256 * 1024, std::uint64_t{1} << 40);
  s.duration("cache_ttl", st.cache_ttl, Millis(1000), Millis(30LL * 86'400'000));
  s.duration("consent_evidence_max_age", st.consent_evidence_max_age, Millis(0), Millis(86'400'000));
  s.finish();
}

void read_tls(Section& s, Config::Tls& t) {
  s.path("cert", t.cert, true);
  s.path("key", t.key, true);
  s.path("ca", t.ca, true);
  s.path("crl", t.crl, true);
  s.duration("crl_grace", t.crl_grace, Millis(0), Millis(30LL * 86'400'000));
  s.duration("expiry_warning", t.expiry_warning, Millis(0), Millis(365LL * 86'400'000));
  s.duration("handshake_timeout", t.handshake_timeout, Millis(100), Millis(120'000));
  s.string("crl_url", t.crl_url, false, [](const std::string& v) -> std::string {
    if (v.empty()) return "";
    auto u = parse_pull_url(v);
    return u ? "" : u.error().message;
  });
  s.duration("crl_pull_interval", t.crl_pull_interval, Millis(60'000), Millis(7LL * 86'400'000));
  if (t.enabled() && (t.key.empty() || t.ca.empty() || t.crl.empty())) {
    s.diag().add(s.table(), s.key_path("cert"),
                 "with a certificate, key, ca and crl are required too (a missing CRL fails closed)");
  }
  s.finish();
}

void read_peer_api(Section& s, Config::PeerApi& p) {
  s.string("address", p.address, false, [](const std::string& v) -> std::string {
    boost::system::error_code ec;
    (void)boost::asio::ip::make_address(v, ec);
    return ec ? "must be an IP address (\"::\" or \"0.0.0.0\" for all)" : "";
  });
  s.uint_as("port", p.port, 0, 65535);
  s.uint_as("max_connections", p.max_connections, 1, 100'000);
  s.uint_as("max_body_bytes", p.max_body_bytes, 1024, std::uint64_t{1} << 32);
  s.duration("request_timeout", p.request_timeout, Millis(100), Millis(3'600'000));
  s.duration("idle_timeout", p.idle_timeout, Millis(100), Millis(3'600'000));
  s.duration("fetch_timeout", p.fetch_timeout, Millis(100), Millis(120'000));
  s.uint_as("connections_per_peer", p.connections_per_peer, 1, 1024);
  s.uint_as("max_connections_per_facility", p.max_connections_per_facility, 0, 100'000);
  s.uint_as("max_handshakes_per_address", p.max_handshakes_per_address, 0, 100'000);
  s.number("requests_per_second_per_facility", p.requests_per_second_per_facility, 0, 10'000'000);
  s.uint_as("request_burst_per_facility", p.request_burst_per_facility, 1, 10'000'000);
  s.finish();
}

void read_peers(Section& top, std::vector<Config::Peer>& out, const std::string& self) {
  const toml::node* n = top.node("peers");
  if (n == nullptr) return;
  const auto* arr = n->as_array();
  if (arr == nullptr) {
    top.diag().add(n, "peers", "must be an array of tables ([[peers]])");
    return;
  }
  for (std::size_t i = 0; i < arr->size(); ++i) {
    Section p(arr->get(i), "peers[" + std::to_string(i) + "]", top.diag());
    if (p.table() == nullptr) continue;
    Config::Peer peer;
    p.string("facility", peer.facility, true, [&](const std::string& v) -> std::string {
      if (!transport::is_facility_code(v)) return "must be a 10-digit medical institution code";
      if (v == self) return "is this gateway's own facility";
      for (const auto& o : out) {
        if (o.facility == v) return "is listed twice";
      }
      return "";
    });
    p.string("host", peer.host, true, [](const std::string& v) -> std::string {
      return (!v.empty() && v.size() <= 253 && v.find_first_of(" /\"") == std::string::npos)
                 ? ""
                 : "must be a host name or IP address";
    });
    p.uint_as("port", peer.port, 1, 65535);
    p.uint_as("tunnel_port", peer.tunnel_port, 1, 65535);
    p.string("name", peer.name);
    p.finish();
    out.push_back(std::move(peer));
  }
}

void read_alerts(Section& s, AccessWatchRules& a) {
  s.duration("window", a.window, Millis(60'000), Millis(7LL * 86'400'000));
  s.uint_as("patients_per_user", a.patients_per_user, 0, 1'000'000);
  s.uint_as("refusals_per_user", a.refusals_per_user, 0, 1'000'000);
  s.uint_as("emergency_accesses", a.emergency_accesses, 0, 1'000'000);
  s.finish();
}

void read_directives(Section& s, Config::Directives& d) {
  s.path("keyset", d.keyset, true);
  s.duration("max_clock_skew", d.max_clock_skew, Millis(0), Millis(3'600'000));
  s.duration("stale_grace", d.stale_grace, Millis(0), Millis(30LL * 86'400'000));
  s.string("stale_mode", d.stale_mode, false, check_fallback);
  s.string("failsafe_mode", d.failsafe_mode, false, check_fallback);
  s.string("pull_url", d.pull_url, false, [](const std::string& v) -> std::string {
    if (v.empty()) return "";
    auto u = parse_pull_url(v);
    return u ? "" : u.error().message;
  });
  s.duration("pull_interval", d.pull_interval, Millis(1'000), Millis(86'400'000));
  s.finish();
}

void read_emergency(Section& s, Config::Policy::Emergency& e) {
  s.uint_as("reason_min_chars", e.reason_min_chars, 1, 1000);
  s.string_list("roles", e.roles, check_role);
  s.string_list("document_types", e.document_types, [](const std::string& v) -> std::string {
    return (!v.empty() && v.size() <= 64) ? "" : "must be 1 to 64 characters";
  });
  s.duration("window", e.window, Millis(60'000), Millis(30LL * 86'400'000));
  s.finish();
}

void read_policy(Section& s, Config::Policy& p) {
  s.string_list("view_roles", p.view_roles, check_role);
  s.uint_as("consent_validity_years", p.consent_validity_years, 1, 50);
  {
    Section e(s.node("emergency"), s.key_path("emergency"), s.diag());
    read_emergency(e, p.emergency);
  }
  {
    Section e(s.node("disaster"), s.key_path("disaster"), s.diag());
    read_emergency(e, p.disaster);
  }
  config_detail::read_export_rules(s, p.export_rules);
  s.finish();
}

}  // namespace

ConfigLoad parse_config(std::string_view text, const std::string& name) {
  ConfigLoad result;
  Diagnostics diag(result.issues, name);
  if (text.empty()) {
    diag.add(nullptr, "", "the file is empty; [network] id and facility are required");
    return result;
  }
  toml::table root;
  try {
    root = toml::parse(text, name);
  } catch (const toml::parse_error& e) {
    ConfigIssue issue;
    issue.file = name;
    issue.line = e.source().begin.line;
    issue.column = e.source().begin.column;
    issue.message = std::string(e.description());
    result.issues.push_back(std::move(issue));
    return result;
  }

  auto cfg = std::make_shared<Config>();
  cfg->source = name;
  cfg->digest = crypto::to_hex(crypto::sha256(text));
  Section top(&root, "", diag);
  {
    Section s(top.node("network"), "network", diag);
    if (s.table() == nullptr && top.node("network") == nullptr) {
      diag.add(nullptr, "network", "the [network] table is required (id, facility)");
    } else {
      read_network(s, cfg->network);
    }
  }
  {
    Section s(top.node("daemon"), "daemon", diag);
    read_daemon(s, cfg->daemon);
  }
  {
    Section s(top.node("local_api"), "local_api", diag);
    read_local_api(s, cfg->local_api);
  }
  if (cfg->daemon.document_memory_bytes < cfg->local_api.max_body_bytes) {
    // Else the largest document the EHR may send could never be received.
    Section s(top.node("daemon"), "daemon", diag);
    diag.add(s.node("document_memory_bytes"), "daemon.document_memory_bytes",
             "must be at least local_api.max_body_bytes (" + std::to_string(cfg->local_api.max_body_bytes) + ")");
  }
  {
    Section s(top.node("store"), "store", diag);
    read_store(s, cfg->store);
  }
  {
    Section s(top.node("tls"), "tls", diag);
    read_tls(s, cfg->tls);
    if (!cfg->tls.enabled() && !cfg->tls.crl_url.empty()) {
      diag.add(s.node("crl_url"), "tls.crl_url", "needs the [tls] credentials to reach the secretariat");
    }
  }
  {
    Section s(top.node("peer_api"), "peer_api", diag);
    read_peer_api(s, cfg->peer_api);
  }
  {
    Section s(top.node("audit"), "audit", diag);
    config_detail::read_audit(s, cfg->audit);
  }
  read_peers(top, cfg->peers, cfg->network.facility);
  config_detail::read_tunnels(top, cfg->tunnels);
  {
    Section s(top.node("directives"), "directives", diag);
    read_directives(s, cfg->directives);
    if (!cfg->tls.enabled() && !cfg->directives.pull_url.empty()) {
      diag.add(s.node("pull_url"), "directives.pull_url", "needs the [tls] credentials to reach the secretariat");
    }
  }

  {
    Section s(top.node("policy"), "policy", diag);
    read_policy(s, cfg->policy);
  }
  {
    Section s(top.node("alerts"), "alerts", diag);
    read_alerts(s, cfg->alerts);
  }
  top.finish();
  if (diag.any()) return result;
  result.config = std::move(cfg);
  return result;
}

ConfigLoad load_config(const std::filesystem::path& path) {
  std::error_code fec;
  if (std::filesystem::exists(path, fec) && !std::filesystem::is_regular_file(path, fec)) {
    ConfigLoad r;
    r.issues.push_back(ConfigIssue{path.string(), 0, 0, "", "is not a regular file"});
    return r;
  }
  // Whoever may write the config may let a client in (its token hashes) or
  // point the gateway elsewhere: it must be writable by its owner only.
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    ConfigLoad r;
    r.issues.push_back(ConfigIssue{path.string(), 0, 0, "",
                                   "is writable by group or others, who could change who may use the gateway "
                                   "(chmod go-w " + path.string() + ")"});
    return r;
  }
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    ConfigLoad r;
    r.issues.push_back(ConfigIssue{path.string(), 0, 0, "",
                                   std::string("cannot read the file: ") + std::strerror(errno)});
    return r;
  }
  std::ostringstream ss;
  ss << f.rdbuf();
  if (f.bad()) {
    ConfigLoad r;
    r.issues.push_back(ConfigIssue{path.string(), 0, 0, "", "cannot read the file (I/O error)"});
    return r;
  }
  return parse_config(ss.str(), path.string());
}

}  // namespace hiegate::daemon
