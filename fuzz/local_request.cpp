// Fuzz target: local API request handling up to the handler — the HTTP
// parser with the server's limits, route matching with path parameters,
// percent-decoding and query parsing.
#include <boost/beast/http.hpp>
#include <cstdint>
#include <limits>

#include "hiegate/daemon/http.hpp"

namespace http = boost::beast::http;
using namespace hiegate::daemon;

namespace {
const Router& router() {
  static const Router r = [] {
    Router x;
    auto noop = [](ApiRequest&, Responder) {};
    x.add(http::verb::get, "/v1/health", noop, false);
    x.add(http::verb::get, "/v1/status", noop);
    x.add(http::verb::get, "/v1/patients/{patient}/documents", noop);
    x.add(http::verb::get, "/v1/facilities/{code}/documents/{id}", noop);
    x.add(http::verb::put, "/v1/documents/{id}", noop);
    return x;
  }();
  return r;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  http::request_parser<http::string_body> parser;
  parser.header_limit(16 * 1024);
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  boost::beast::error_code ec;
  std::size_t used = 0;
  while (used < size && !ec) {
    const std::size_t n = parser.put(boost::asio::buffer(data + used, size - used), ec);
    if (n == 0) break;
    used += n;
    if (parser.is_header_done()) {
      const auto& req = parser.get();
      const std::string_view target = req.target();
      const auto q = target.find('?');
      auto m = router().match(req.method(), target.substr(0, q));
      ApiRequest ar;
      ar.params = std::move(m.params);
      if (q != std::string_view::npos) ar.query = std::string(target.substr(q + 1));
      (void)ar.query_param("expiring_within");
      (void)ar.param("patient");
      // As the server does (LocalApiServer::on_header): a declared length
      // over the limit is refused before any body is read — setting the
      // limit alone is too late, the parser checked the length against the
      // header-time limit and would size the body by it.
      if (const auto len = parser.content_length(); len && *len > 64 * 1024) break;
      parser.body_limit(64 * 1024);
    }
  }
  return 0;
}
