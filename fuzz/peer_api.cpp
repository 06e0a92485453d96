// Fuzz target: the peer API's handlers — what another facility's gateway
// sends over mutual TLS (the patient's document list and a document fetch,
// with the requesting user, role, purpose and emergency reason in headers)
// — on the fixture gateway (fuzz/gateway_fixture.hpp), dispatched as
// PeerServer does once the TLS handshake has named the caller.
//
// Input: the first byte picks the caller (a facility, another facility, the
// secretariat); then "METHOD TARGET\n", header lines "Name: value\n", an
// empty line, and the body.
// Contract checked: no crash, sanitizer report or exception; every request
// gets exactly one answer within 30 s; never 500; the status is 200..599;
// every 4xx/5xx carries {"error":{"code":snake_case,"message":string}}; a
// JSON 2xx body parses; a route refusal (caller kind, path, method) is
// 403, 404 or 405.
#include <future>
#include <optional>
#include <string>
#include <string_view>

#include "gateway_fixture.hpp"
#include "hiegate/transport/peer_http.hpp"

namespace {

using namespace hiegate;
using namespace hiegate::fuzz;

/// The fixture's peer routes, built once beside it.
const std::vector<transport::PeerRoute>& routes() {
  static const auto r = hiegate::daemon::peer_routes(fixture().gateway());
  return r;
}

std::optional<transport::PeerRequest> parse_input(std::string_view in) {
  if (in.empty()) return std::nullopt;
  transport::PeerRequest req;
  req.peer.network = "nishitama";
  switch (static_cast<unsigned char>(in[0]) % 3) {
    case 0: req.peer.facility = "1300000002"; break;
    case 1: req.peer.facility = "1300000009"; break;
    default: req.peer.kind = transport::PeerIdentity::Kind::secretariat; break;
  }
  in.remove_prefix(1);
  auto line = [&in]() -> std::optional<std::string_view> {
    const auto nl = in.find('\n');
    if (nl == std::string_view::npos) return std::nullopt;
    const auto l = in.substr(0, nl);
    in.remove_prefix(nl + 1);
    return l;
  };
  const auto first = line();
  if (!first) return std::nullopt;
  const auto sp = first->find(' ');
  if (sp == std::string_view::npos) return std::nullopt;
  req.method = std::string(first->substr(0, sp));
  req.target = std::string(first->substr(sp + 1));
  const auto q = req.target.find('?');
  req.path = req.target.substr(0, q);
  if (q != std::string::npos) req.query = req.target.substr(q + 1);
  for (auto h = line(); h && !h->empty(); h = line()) {
    const auto colon = h->find(':');
    if (colon == std::string_view::npos) return std::nullopt;
    auto value = h->substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    req.headers.emplace_back(std::string(h->substr(0, colon)), std::string(value));
  }
  req.body = std::string(in);
  return req;
}

void check_answer(const transport::PeerResponse& res) {
  require(res.status >= 200 && res.status <= 599, "status out of range");
  require(res.status != 500, "500 internal error");
  const bool json = res.content_type.starts_with("application/json");
  if (res.status >= 400) {
    require(json, "error without a JSON content type");
    require_error_body(res.body);
  } else if (json) {
    require(!nlohmann::json::parse(res.body, nullptr, false).is_discarded(), "2xx JSON body");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto req = parse_input(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!req) return 0;
  const auto match = transport::match_route(routes(), req->method, req->path, req->peer);
  if (match.refusal) {
    check_answer(*match.refusal);
    const auto s = match.refusal->status;
    require(s == 403 || s == 404 || s == 405, "a route refusal is 403, 404 or 405");
    return 0;
  }
  auto answer = std::make_shared<std::promise<transport::PeerResponse>>();
  auto got = answer->get_future();
  try {
    if (match.route->handler) {
      answer->set_value(match.route->handler(*req));
    } else {
      match.route->async_handler(*req, [answer](transport::PeerResponse r) { answer->set_value(std::move(r)); });
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "peer handler of %s threw: %s\n", req->path.c_str(), e.what());
    std::abort();
  }
  require(got.wait_for(std::chrono::seconds(30)) == std::future_status::ready, "no answer within 30 s");
  const auto res = got.get();
  if (std::getenv("HIEGATE_FUZZ_VERBOSE") != nullptr) {  // what a corpus reaches
    std::fprintf(stderr, "%s %s -> %u %.200s\n", req->method.c_str(), req->target.c_str(), res.status,
                 res.content_type.starts_with("application/json") ? res.body.c_str() : "(raw)");
  }
  check_answer(res);
  return 0;
}
