// Reads [tunnels], [[tunnels.out]] and [[tunnels.in]] (docs/tunnels.md).
// Called from config.cpp; every problem names its key path and position.
#include <algorithm>
#include <set>

#include "config_tunnels.hpp"
#include "hiegate/transport/identity.hpp"

namespace hiegate::daemon {

transport::TunnelLimits TunnelsConfig::limits() const {
  transport::TunnelLimits l;
  l.address = listen_address;
  l.port = port;
  l.listen = !in.empty();
  l.max_per_peer = max_per_peer;
  l.connect_timeout = connect_timeout;
  l.idle_timeout = idle_timeout;
  l.max_duration = max_duration;
  return l;
}

namespace config_detail {
namespace {

using transport::LocalEndpoint;

std::string check_name(const std::string& v) {
  return transport::is_service_name(v) ? "" : "must be 1 to 64 of [a-z0-9._-], starting with a letter or digit";
}
std::string check_facility(const std::string& v) {
  return transport::is_facility_code(v) ? "" : "must be a 10-digit medical institution code";
}

/// Reads an address key; `local_only` demands loopback or a Unix socket.
void endpoint(Section& s, std::string_view key, LocalEndpoint& out, bool local_only) {
  std::string text;
  s.string(key, text, true, [&](const std::string& v) -> std::string {
    auto e = transport::parse_local_endpoint(v);
    if (!e) return "must be \"IP:PORT\", \"[IPv6]:PORT\" or \"unix:/absolute/path\" (" + e.error().message + ")";
    if (local_only && !e->is_loopback()) return "must be a loopback address or a Unix socket";
    out = *e;
    return "";
  });
}

void limits(Section& s, std::size_t& max_conn, std::uint64_t& bandwidth) {
  s.uint_as("max_connections", max_conn, 1, 100'000);
  s.uint_as("bandwidth_bytes_per_sec", bandwidth, 0, 100ULL << 30);
}

/// Calls `each(section)` for every table of the array `key` ([[section.key]]).
template <class F>
void each_table(Section& s, std::string_view key, F each) {
  const toml::node* n = s.node(key);
  if (n == nullptr) return;
  const auto* arr = n->as_array();
  if (arr == nullptr) {
    s.diag().add(n, s.key_path(key), "must be an array of tables ([[" + s.key_path(key) + "]])");
    return;
  }
  for (std::size_t i = 0; i < arr->size(); ++i) {
    Section t(arr->get(i), s.key_path(key) + "[" + std::to_string(i) + "]", s.diag());
    if (t.table() == nullptr) continue;
    each(t, arr->get(i));
    t.finish();
  }
}

void read_out(Section& s, std::vector<transport::OutboundTunnel>& out) {
  std::set<std::string> names, listens;
  each_table(s, "out", [&](Section& t, const toml::node* at) {
    transport::OutboundTunnel o;
    t.string("name", o.name, true, check_name);
    endpoint(t, "listen", o.listen, true);
    t.string("facility", o.facility, true, check_facility);
    t.string("service", o.service, true, check_name);
    limits(t, o.max_connections, o.bandwidth_bytes_per_sec);
    if (!o.name.empty() && !names.insert(o.name).second) t.diag().add(at, t.key_path("name"), "duplicate tunnel name");
    if (o.listen.port != 0 || !o.listen.path.empty())
      if (!listens.insert(o.listen.to_string()).second)
        t.diag().add(at, t.key_path("listen"), "another tunnel listens there");
    out.push_back(std::move(o));
  });
}

void read_in(Section& s, std::vector<transport::InboundService>& out) {
  std::set<std::string> names;
  each_table(s, "in", [&](Section& t, const toml::node* at) {
    transport::InboundService in;
    t.string("service", in.service, true, check_name);
    endpoint(t, "backend", in.backend, false);
    const toml::node* n = t.node("allow");
    const std::string path = t.key_path("allow");
    if (n == nullptr) {
      t.diag().add(at, path, "is required: a list of facility codes, or \"*\" for any facility of the network");
    } else if (const auto* str = n->as_string(); str != nullptr && str->get() == "*") {
      in.allow = {"*"};
    } else if (const auto* arr = n->as_array(); arr != nullptr && !arr->empty()) {
      for (std::size_t i = 0; i < arr->size(); ++i) {
        const auto* e = arr->get(i)->as_string();
        const std::string epath = path + "[" + std::to_string(i) + "]";
        if (e == nullptr || !transport::is_facility_code(e->get()))
          t.diag().add(arr->get(i), epath, "must be a 10-digit facility code (write allow = \"*\" to allow any)");
        else if (std::find(in.allow.begin(), in.allow.end(), e->get()) != in.allow.end())
          t.diag().add(arr->get(i), epath, "is listed twice");
        else
          in.allow.push_back(e->get());
      }
    } else {
      t.diag().add(n, path, "must be a non-empty array of facility codes or the string \"*\"");
    }
    t.boolean("proxy_protocol", in.proxy_protocol);
    limits(t, in.max_connections, in.bandwidth_bytes_per_sec);
    if (!in.service.empty() && !names.insert(in.service).second)
      t.diag().add(at, t.key_path("service"), "duplicate service");
    out.push_back(std::move(in));
  });
}

}  // namespace

void read_tunnels(Section& top, TunnelsConfig& out) {
  Section s(top.node("tunnels"), "tunnels", top.diag());
  if (s.table() == nullptr) return;
  s.string("listen_address", out.listen_address, false, [](const std::string& v) -> std::string {
    auto e = transport::parse_local_endpoint((v.find(':') != std::string::npos ? "[" + v + "]" : v) + ":1");
    return e ? "" : "must be a literal IP address";
  });
  s.uint_as("port", out.port, 1, 65535);
  s.uint_as("max_per_peer", out.max_per_peer, 1, 100'000);
  s.duration("connect_timeout", out.connect_timeout, std::chrono::milliseconds(100), std::chrono::minutes(5));
  s.duration("idle_timeout", out.idle_timeout, std::chrono::seconds(1), std::chrono::hours(24));
  s.duration("max_duration", out.max_duration, std::chrono::milliseconds(0), std::chrono::hours(24 * 7));
  read_out(s, out.out);
  read_in(s, out.in);
  s.finish();
}

}  // namespace config_detail
}  // namespace hiegate::daemon
