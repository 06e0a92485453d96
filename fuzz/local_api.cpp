// Fuzz target: the local API's request handling behind the server — the real
// clinical and export routes on a real Store and AuditLog (temp dir, fixed
// key, standalone: no peers, no secretariat), as the daemon wires them.
//
// Input: "METHOD TARGET HTTP/1.1\r\n" headers "\r\n\r\n" body; the harness adds
// Content-Length, so that mutating the body keeps the message whole. Each
// input is dispatched like LocalApiServer does after authentication (token
// "ehr") and the answer is awaited.
// Contract checked: no crash, sanitizer report or exception; every request
// gets exactly one answer within 30 s; the answer serialises to a
// well-formed HTTP/1.1 response; never 500; every 4xx/5xx carries a JSON
// body {"error":{"code":snake_case,"message":string}}; a JSON 2xx body parses.
//
// The gateway: fuzz/gateway_fixture.hpp.
#include <boost/beast/http.hpp>

#include <sstream>

#include "gateway_fixture.hpp"

namespace {

using namespace hiegate::fuzz;

/// The fuzz input as a request, or nullopt if it is not one.
std::optional<HttpRequest> parse_input(std::string_view in) {
  const auto end = in.find("\r\n\r\n");
  if (end == std::string_view::npos) return std::nullopt;
  const std::string_view body = in.substr(end + 4);
  std::string wire(in.substr(0, end + 2));
  wire += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
  wire += body;
  http::request_parser<http::string_body> parser;
  parser.header_limit(16 * 1024);
  parser.body_limit(1024 * 1024);
  boost::beast::error_code ec;
  parser.eager(true);
  const std::size_t used = parser.put(net::buffer(wire), ec);
  if (ec || !parser.is_done() || used != wire.size()) return std::nullopt;
  return parser.release();
}

void check_answer(HttpResponse res) {
  const unsigned status = res.result_int();
  require(status >= 200 && status <= 599, "status out of range");
  require(status != 500, "500 internal error");
  const auto ct = res[http::field::content_type];
  const bool json = std::string_view(ct.data(), ct.size()).starts_with("application/json");
  if (status >= 400) {
    require(json, "error without a JSON content type");
    require_error_body(res.body());
  } else if (json) {
    require(!nlohmann::json::parse(res.body(), nullptr, false).is_discarded(), "2xx JSON body");
  }
  // What goes on the wire must parse back as one whole response.
  res.keep_alive(true);
  res.prepare_payload();
  std::ostringstream out;
  out << res;
  const std::string wire = out.str();
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  parser.eager(true);
  boost::beast::error_code ec;
  const std::size_t used = parser.put(net::buffer(wire), ec);
  require(!ec && parser.is_done() && used == wire.size(), "response does not serialise to HTTP/1.1");
  require(parser.get().result_int() == status, "status changed on the wire");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto req = parse_input(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!req) return 0;
  auto res = fixture().call(std::move(*req));
  if (res) check_answer(std::move(*res));
  return 0;
}
