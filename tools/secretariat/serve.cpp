// hiegate-secretariat serve: the orders endpoint gateways pull from
// ([directives] pull_url), over mutual TLS with the secretariat's
// certificate; only facility certificates of the network may fetch.
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <csignal>
#include <cstdio>

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
    "Answers GET PATH with the envelopes, read again at every request (replace the\n"
    "files atomically to publish new orders): one envelope as is, several as a JSON\n"
    "array in the given order (the body of a push).\n"
    "Runs until SIGTERM or SIGINT.\n";

}  // namespace

int serve_main(int argc, char** argv) {
  using namespace secretariat;
  Args args(argc, argv, {"envelope", "network", "cert", "ca", "crl", "listen", "port", "path"});
  if (!args.ok()) return usage_error(kUsage, args.error());
  if (args.all("envelope").empty() || !args.get("network") || !args.get("cert") || !args.positional().empty())
    return usage_error(kUsage);
  const auto port = parse_count(args.get("port").value_or("8472"));
  if (!port || *port > 65535) return usage_error(kUsage, "--port must be 1 to 65535");
  const std::string path = args.get("path").value_or("/peer/v1/orders");
  if (!path.starts_with('/')) return usage_error(kUsage, "--path must start with /");
  auto tls = secretariat_tls(*args.get("cert"), args.get("ca"), args.get("crl"), *args.get("network"));
  if (!tls) return refused(tls.error());

  transport::PeerRoute route;
  route.method = "GET";
  route.path = path;
  route.allowed = transport::Caller::facility;
  route.handler = [files = args.all("envelope")](const transport::PeerRequest& req) {
    std::vector<std::string> envelopes;
    for (const auto& f : files) {
      auto e = read_file(f, 64 * 1024);
      if (!e) return transport::PeerResponse::error(503, e.error().code, "the orders are not available");
      envelopes.push_back(std::move(*e));
    }
    auto body = delivery_body(envelopes);
    if (!body) return transport::PeerResponse::error(503, body.error().code, "the orders are not available");
    std::printf("served %s to %s\n", req.path.c_str(), req.peer.uri().c_str());
    std::fflush(stdout);
    return transport::PeerResponse::json(200, std::move(*body));
  };
  boost::asio::io_context ioc;
  transport::PeerServerOptions opts;
  opts.address = args.get("listen").value_or("::");
  opts.port = static_cast<std::uint16_t>(*port);
  transport::PeerServer server(ioc, *tls, opts, {route});
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
