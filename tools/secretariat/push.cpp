#include "secretariat/push.hpp"

#include <boost/asio/io_context.hpp>
#include <toml++/toml.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>

#include "hiegate/policy/dsse.hpp"
#include "hiegate/transport/credentials.hpp"
#include "hiegate/transport/identity.hpp"
#include "secretariat/cmd_util.hpp"
#include "secretariat/directive_cmds.hpp"
#include "secretariat/documents.hpp"

namespace hiegate::tools {
namespace secretariat {
namespace {

Error bad(const std::string& name, const std::string& why) {
  return make_error("bad_peers_file", name + ": " + why);
}

}  // namespace

Result<PeersFile> parse_peers(std::string_view text, const std::string& name) {
  toml::table root;
  try {
    root = toml::parse(text, name);
  } catch (const toml::parse_error& e) {
    return bad(name, std::to_string(e.source().begin.line) + ":" +
                         std::to_string(e.source().begin.column) + ": " +
                         std::string(e.description()));
  }
  PeersFile out;
  for (const auto& [key, _] : root)
    if (key != "network" && key != "peer") return bad(name, "unknown key " + std::string(key.str()));
  const auto network = root["network"].value<std::string>();
  if (!network || !transport::is_network_id(*network)) return bad(name, "network is missing or invalid");
  out.network = *network;
  const toml::array* peers = root["peer"].as_array();
  if (peers == nullptr || peers->empty()) return bad(name, "no [[peer]] entries");
  std::set<std::string> seen;
  for (const auto& node : *peers) {
    const toml::table* t = node.as_table();
    if (t == nullptr) return bad(name, "peer is not a table");
    for (const auto& [key, _] : *t)
      if (key != "facility" && key != "host" && key != "port")
        return bad(name, "unknown key peer." + std::string(key.str()));
    transport::PeerAddress a;
    a.facility = (*t)["facility"].value<std::string>().value_or("");
    a.host = (*t)["host"].value<std::string>().value_or("");
    const auto port = (*t)["port"].value<std::int64_t>().value_or(8471);
    if (!transport::is_facility_code(a.facility)) return bad(name, "peer.facility is not a facility code");
    if (a.host.empty()) return bad(name, "peer.host is missing for " + a.facility);
    if (port < 1 || port > 65535) return bad(name, "peer.port is out of range for " + a.facility);
    if (!seen.insert(a.facility).second) return bad(name, "facility " + a.facility + " listed twice");
    a.port = static_cast<std::uint16_t>(port);
    out.peers.push_back(std::move(a));
  }
  return out;
}

Result<std::vector<transport::PeerAddress>> select_peers(const PeersFile& peers,
                                                         const std::vector<std::string>& to) {
  if (to.size() == 1 && to[0] == "all") return peers.peers;
  if (to.empty()) return make_error("unknown_peer", "no recipient given");
  std::vector<transport::PeerAddress> out;
  for (const auto& code : to) {
    const auto it = std::find_if(peers.peers.begin(), peers.peers.end(),
                                 [&](const auto& p) { return p.facility == code; });
    if (it == peers.peers.end()) return make_error("unknown_peer", code + " is not in the peers file");
    out.push_back(*it);
  }
  return out;
}

Result<std::string> delivery_body(const std::vector<std::string>& envelopes) {
  if (envelopes.empty()) return make_error("malformed", "no envelope given");
  for (std::size_t i = 0; i < envelopes.size(); ++i)
    if (auto e = policy::decode_envelope(envelopes[i]); !e)
      return make_error("malformed", "envelope " + std::to_string(i + 1) + ": " + e.error().message);
  if (envelopes.size() == 1) return envelopes[0];
  std::string body = "[";
  for (std::size_t i = 0; i < envelopes.size(); ++i) body += (i ? "," : "") + envelopes[i];
  return body + "]";
}

namespace {

/// `method` `/peer/v1/directives` (with `body`) to every peer in parallel.
std::vector<PushOutcome> request_all(std::shared_ptr<transport::TlsContext> tls,
                                     const std::vector<transport::PeerAddress>& peers, const std::string& method,
                                     const std::string& body, std::chrono::milliseconds timeout) {
  std::vector<PushOutcome> out(peers.size());
  boost::asio::io_context ioc;
  transport::PeerClientOptions opts;
  opts.connect_timeout = timeout;
  opts.handshake_timeout = timeout;
  opts.request_timeout = timeout;
  opts.max_retries = 0;
  transport::PeerClient client(ioc, std::move(tls), opts);
  std::mutex mu;  // handlers may run on any strand
  std::atomic<std::size_t> pending = peers.size();
  for (std::size_t i = 0; i < peers.size(); ++i) {
    out[i].facility = peers[i].facility;
    transport::OutboundRequest req;
    req.method = method;
    req.target = "/peer/v1/directives";
    req.body = body;
    client.async_request(peers[i], std::move(req), [&, i](Result<transport::PeerResponse> r) {
      {
        const std::lock_guard lock(mu);
        if (r) {
          out[i].status = r->status;
          out[i].body = std::move(r->body);
        } else {
          out[i].failure = r.error();
        }
      }
      --pending;
    });
  }
  // Each request is bounded by the client's timeouts; the outer limit only
  // guards against a lost callback.
  const auto limit = std::chrono::steady_clock::now() + 3 * timeout + std::chrono::seconds(1);
  while (pending > 0 && std::chrono::steady_clock::now() < limit) {
    ioc.restart();
    ioc.run_for(std::chrono::milliseconds(20));
  }
  client.shutdown();
  ioc.restart();
  ioc.poll();
  const std::lock_guard lock(mu);
  for (auto& o : out)
    if (!o.failure && o.status == 0) o.failure = make_error("timeout", "no answer in time");
  return out;
}

}  // namespace

std::vector<PushOutcome> push_all(std::shared_ptr<transport::TlsContext> tls,
                                  const std::vector<transport::PeerAddress>& peers, const std::string& body,
                                  std::chrono::milliseconds timeout) {
  return request_all(std::move(tls), peers, "PUT", body, timeout);
}

std::vector<PushOutcome> status_all(std::shared_ptr<transport::TlsContext> tls,
                                    const std::vector<transport::PeerAddress>& peers,
                                    std::chrono::milliseconds timeout) {
  return request_all(std::move(tls), peers, "GET", "", timeout);
}

Result<std::shared_ptr<transport::TlsContext>> secretariat_tls(const std::filesystem::path& dir,
                                                               const std::optional<std::string>& ca,
                                                               const std::optional<std::string>& crl,
                                                               const std::string& network) {
  const transport::CredentialPaths paths{dir / "cert.pem", dir / "key.pem",
                                         ca.value_or((dir / ".." / "ca.crt").string()),
                                         crl.value_or((dir / ".." / "crl.pem").string())};
  transport::CredentialOptions copts;
  copts.network = network;
  auto creds = transport::CredentialStore::open(paths, copts, std::chrono::system_clock::now());
  if (!creds) return std::move(creds).error();
  if ((*creds)->current()->identity().kind != transport::PeerIdentity::Kind::secretariat)
    return make_error("not_secretariat", "the certificate in " + dir.string() + " is not the secretariat's");
  return transport::TlsContext::create(*creds, transport::TlsSettings{});
}

std::string describe(const PushOutcome& o) {
  if (o.failure) return o.facility + ": no answer (" + o.failure->code + ": " + o.failure->message + ")";
  const auto j = nlohmann::json::parse(o.body, nullptr, false);
  std::string line = o.facility + ": HTTP " + std::to_string(o.status);
  if (!j.is_object()) return line + " (unreadable answer)";
  const auto num = [&](const char* k) {
    return j.contains(k) && j[k].is_number_unsigned() ? std::to_string(j[k].get<std::uint64_t>())
                                                       : std::string("-");
  };
  if (j.contains("keyset_version"))
    line += " keyset " + num("keyset_version") + " orders " + num("orders_sequence") +
            " heartbeat " + num("heartbeat_sequence") + " mode " + j.value("mode", "?");
  if (j.contains("results") && j["results"].is_array())
    for (const auto& r : j["results"])
      if (r.is_object())
        line += "; " + r.value("kind", "?") + " " + r.value("decision", "?") +
                (r.contains("reason") ? " (" + r.value("reason", "") + ")" : "");
  if (j.contains("error") && j["error"].is_object())
    line += "; error " + j["error"].value("code", "?") + ": " + j["error"].value("message", "");
  return line;
}

}  // namespace secretariat

namespace {

constexpr const char* kUsage =
    "usage: hiegate-secretariat push --to all|CODE... --envelope FILE... --peers FILE.toml\n"
    "         --cert DIR [--ca FILE] [--crl FILE] [--timeout 30s]\n"
    "DIR holds the secretariat's cert.pem and key.pem; the CA certificate and CRL\n"
    "default to DIR/../ca.crt and DIR/../crl.pem (the layout of 'pki dev-network').\n";
constexpr const char* kStatusUsage =
    "usage: hiegate-secretariat status --to all|CODE... --peers FILE.toml\n"
    "         --cert DIR [--ca FILE] [--crl FILE] [--timeout 30s]\n"
    "Asks each gateway what it holds (keyset, orders and heartbeat sequences) and\n"
    "its mode; exits 1 unless every one answered. DIR as for push.\n";

/// Prints one line per outcome; 0 if every one was accepted, else 1 with the
/// facilities that were not.
int report(const std::vector<secretariat::PushOutcome>& outcomes, const char* what) {
  std::size_t failed = 0;
  for (const auto& o : outcomes) {
    std::printf("%s\n", secretariat::describe(o).c_str());
    if (!o.accepted()) ++failed;
  }
  if (failed == 0) return 0;
  std::fprintf(stderr, "%s", what);
  for (const auto& o : outcomes)
    if (!o.accepted()) std::fprintf(stderr, " %s", o.facility.c_str());
  std::fprintf(stderr, "\n");
  return 1;
}


}  // namespace

namespace {

/// What push and status share: the gateways named by --to in --peers, the
/// secretariat's TLS context (--cert, --ca, --crl) and --timeout.
struct Recipients {
  std::vector<transport::PeerAddress> peers;
  std::shared_ptr<transport::TlsContext> tls;
  std::chrono::milliseconds timeout{};
};

/// Reads the Recipients from `args`; if they cannot be, the exit status
/// (usage 2, refused 1) in `exit`.
std::optional<Recipients> recipients(const Args& args, const char* usage, int& exit) {
  using namespace secretariat;
  auto timeout = parse_duration(args.get("timeout").value_or("30s"));
  if (!timeout) return exit = usage_error(usage, timeout.error().message), std::nullopt;
  auto peers_text = read_file(*args.get("peers"));
  if (!peers_text) return exit = refused(peers_text.error()), std::nullopt;
  auto peers = parse_peers(*peers_text, *args.get("peers"));
  if (!peers) return exit = refused(peers.error()), std::nullopt;
  auto targets = select_peers(*peers, args.all("to"));
  if (!targets) return exit = refused(targets.error()), std::nullopt;
  auto tls = secretariat_tls(*args.get("cert"), args.get("ca"), args.get("crl"), peers->network);
  if (!tls) return exit = refused(tls.error()), std::nullopt;
  return Recipients{std::move(*targets), std::move(*tls), *timeout};
}

}  // namespace

int push_main(int argc, char** argv) {
  using namespace secretariat;
  Args args(argc, argv, {"to", "envelope", "peers", "cert", "ca", "crl", "timeout"});
  if (!args.ok()) return usage_error(kUsage, args.error());
  if (args.all("to").empty() || args.all("envelope").empty() || !args.get("peers") ||
      !args.get("cert") || !args.positional().empty())
    return usage_error(kUsage);
  std::vector<std::string> envelopes;
  for (const auto& f : args.all("envelope")) {
    auto e = read_file(f, 64 * 1024);
    if (!e) return refused(e.error());
    envelopes.push_back(std::move(*e));
  }
  auto body = delivery_body(envelopes);
  if (!body) return refused(body.error());
  int exit = 0;
  const auto to = recipients(args, kUsage, exit);
  if (!to) return exit;
  return report(push_all(to->tls, to->peers, *body, to->timeout), "not delivered to:");
}

int status_main(int argc, char** argv) {
  using namespace secretariat;
  Args args(argc, argv, {"to", "peers", "cert", "ca", "crl", "timeout"});
  if (!args.ok()) return usage_error(kStatusUsage, args.error());
  if (args.all("to").empty() || !args.get("peers") || !args.get("cert") || !args.positional().empty())
    return usage_error(kStatusUsage);
  int exit = 0;
  const auto to = recipients(args, kStatusUsage, exit);
  if (!to) return exit;
  return report(status_all(to->tls, to->peers, to->timeout), "no status from:");
}

}  // namespace hiegate::tools
