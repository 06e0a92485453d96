// hiegate-secretariat serve: the orders endpoint gateways pull from
// ([directives] pull_url), over mutual TLS with the secretariat's
// certificate; only facility certificates of the network may fetch.
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "hiegate/crypto/encoding.hpp"
#include "hiegate/crypto/primitives.hpp"
#include "hiegate/policy/rfc3339.hpp"
#include "hiegate/transport/peer_server.hpp"
#include "secretariat/cmd_util.hpp"
#include "secretariat/directive_cmds.hpp"
#include "secretariat/documents.hpp"
#include "secretariat/push.hpp"

namespace hiegate::tools {
namespace {

constexpr const char* kUsage =
    "usage: hiegate-secretariat serve --envelope FILE... --network ID --cert DIR [--ca FILE] [--crl FILE]\n"
    "         [--listen ADDRESS] [--port 8472] [--path /peer/v1/orders]\n"
    "         [--heartbeat-key KEY --orders-body BODY --keyset-version N [--heartbeat-every 1h]\n"
    "          [--valid-for 24h]]\n"
    "Also answers GET /peer/v1/crl with the regional CA's CRL (--crl, by default\n"
    "DIR/../crl.pem), read again at every request, for gateways' [tls] crl_url.\n"
    "Answers GET PATH with the envelopes, read again at every request (replace the\n"
    "files atomically to publish new orders): one envelope as is, several as a JSON\n"
    "array in the given order (the body of a push).\n"
    "With --heartbeat-key (the online heartbeat key), a fresh heartbeat naming\n"
    "the orders BODY is signed and served after the envelopes: at start, every\n"
    "--heartbeat-every, and at once when BODY changes. Its sequence is the Unix\n"
    "time in seconds (kept increasing), so it goes on rising across restarts.\n"
    "Runs until SIGTERM or SIGINT.\n";

/// The heartbeat serve signs by itself (--heartbeat-key). Only the io
/// thread touches it.
struct Heartbeats {
  crypto::Ed25519KeyPair key;
  std::string network;
  std::uint64_t keyset_version = 0;
  std::string orders_file;
  std::chrono::seconds every{3600};
  std::chrono::seconds valid_for{86400};
  std::string envelope;  // the current one
  std::string orders_digest;
  policy::Time signed_at{};
  std::uint64_t sequence = 0;

  /// The current heartbeat, signed again when due or when the orders body
  /// changed.
  Result<std::string> current() {
    auto orders = secretariat::read_file(orders_file);
    if (!orders) return std::move(orders).error();
    const auto now = std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
    const std::string digest = crypto::to_hex(crypto::sha256(*orders));
    if (!envelope.empty() && digest == orders_digest && now - signed_at < every) return envelope;
    const auto seq = std::max<std::uint64_t>(static_cast<std::uint64_t>(now.time_since_epoch().count()), sequence + 1);
    auto env = secretariat::signed_heartbeat(network, keyset_version, seq, *orders, now, valid_for, key);
    if (!env) return std::move(env).error();
    envelope = std::move(*env);
    orders_digest = digest;
    signed_at = now;
    sequence = seq;
    std::printf("heartbeat sequence %llu signed, valid until %s\n", static_cast<unsigned long long>(seq),
                policy::format_rfc3339(now + valid_for).c_str());
    std::fflush(stdout);
    return envelope;
  }
};

}  // namespace

int serve_main(int argc, char** argv) {
  using namespace secretariat;
  Args args(argc, argv, {"envelope", "network", "cert", "ca", "crl", "listen", "port", "path", "heartbeat-key",
                         "orders-body", "keyset-version", "heartbeat-every", "valid-for"});
  if (!args.ok()) return usage_error(kUsage, args.error());
  if (args.all("envelope").empty() || !args.get("network") || !args.get("cert") || !args.positional().empty())
    return usage_error(kUsage);
  const auto port = parse_count(args.get("port").value_or("8472"));
  if (!port || *port > 65535) return usage_error(kUsage, "--port must be 1 to 65535");
  const std::string path = args.get("path").value_or("/peer/v1/orders");
  if (!path.starts_with('/')) return usage_error(kUsage, "--path must start with /");
  auto tls = secretariat_tls(*args.get("cert"), args.get("ca"), args.get("crl"), *args.get("network"));
  if (!tls) return refused(tls.error());
  std::shared_ptr<Heartbeats> beats;
  if (const auto key_file = args.get("heartbeat-key")) {
    std::string err;
    const auto kv = count_option(args, "keyset-version", err);
    if (!kv || !args.get("orders-body")) {
      return usage_error(kUsage, "--heartbeat-key needs --orders-body and --keyset-version " + err);
    }
    auto every = parse_duration(args.get("heartbeat-every").value_or("1h"));
    auto valid = parse_duration(args.get("valid-for").value_or("24h"));
    if (!every || !valid) return usage_error(kUsage, (!every ? every.error() : valid.error()).message);
    if (*every >= *valid) return usage_error(kUsage, "--heartbeat-every must be shorter than --valid-for");
    auto key = read_secret_key(*key_file);
    if (!key) return refused(key.error());
    beats = std::make_shared<Heartbeats>(Heartbeats{std::move(*key), *args.get("network"), *kv,
                                                    *args.get("orders-body"), *every, *valid, {}, {}, {}, 0});
    // A key or body that does not make a heartbeat fails at start, not at
    // the first gateway's pull.
    if (auto first = beats->current(); !first) return refused(first.error());
  }

  transport::PeerRoute route;
  route.method = "GET";
  route.path = path;
  route.allowed = transport::Caller::facility;
  route.handler = [files = args.all("envelope"), beats](const transport::PeerRequest& req) {
    std::vector<std::string> envelopes;
    for (const auto& f : files) {
      auto e = read_file(f, 64 * 1024);
      if (!e) return transport::PeerResponse::error(503, e.error().code, "the orders are not available");
      envelopes.push_back(std::move(*e));
    }
    if (beats) {
      auto hb = beats->current();
      if (!hb) {
        std::fprintf(stderr, "heartbeat not signed: %s: %s\n", hb.error().code.c_str(), hb.error().message.c_str());
        return transport::PeerResponse::error(503, hb.error().code, "the heartbeat is not available");
      }
      envelopes.push_back(std::move(*hb));
    }
    auto body = delivery_body(envelopes);
    if (!body) return transport::PeerResponse::error(503, body.error().code, "the orders are not available");
    std::printf("served %s to %s\n", req.path.c_str(), req.peer.uri().c_str());
    std::fflush(stdout);
    return transport::PeerResponse::json(200, std::move(*body));
  };
  // The CRL the secretariat's CA publishes, for gateways to pull (they check
  // its signature against the CA themselves).
  transport::PeerRoute crl_route;
  crl_route.method = "GET";
  crl_route.path = "/peer/v1/crl";
  crl_route.allowed = transport::Caller::facility;
  crl_route.handler = [crl = args.get("crl").value_or((std::filesystem::path(*args.get("cert")) / ".." / "crl.pem").string())](
                          const transport::PeerRequest& req) {
    auto pem = read_file(crl, 16 << 20);
    if (!pem) return transport::PeerResponse::error(503, pem.error().code, "the CRL is not available");
    std::printf("served the CRL to %s\n", req.peer.uri().c_str());
    std::fflush(stdout);
    transport::PeerResponse res;
    res.content_type = "application/x-pem-file";
    res.body = std::move(*pem);
    return res;
  };
  if (path == crl_route.path) return usage_error(kUsage, "--path must not be /peer/v1/crl");
  boost::asio::io_context ioc;
  transport::PeerServerOptions opts;
  opts.address = args.get("listen").value_or("::");
  opts.port = static_cast<std::uint16_t>(*port);
  transport::PeerServer server(ioc, *tls, opts, {route, crl_route});
  if (auto st = server.start(); !st) return refused(st.error());
  std::printf("serving orders on %s port %u path %s\n", opts.address.c_str(), server.port(), path.c_str());
  std::fflush(stdout);
  boost::asio::signal_set signals(ioc, SIGTERM, SIGINT);
  signals.async_wait([&](const boost::system::error_code&, int) {
    server.stop();
    ioc.stop();
  });
  ioc.run();
  return 0;
}

}  // namespace hiegate::tools
