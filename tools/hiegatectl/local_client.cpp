#include "hiegatectl/local_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "hiegate/transport/read_room.hpp"

namespace hiegate::tools {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {
template <class Socket>
Result<LocalResponse> exchange(Socket& sock, const std::string& method, const std::string& target,
                               const std::string& token, const std::string& body,
                               const std::string& content_type,
                               const std::vector<std::pair<std::string, std::string>>& headers) {
  http::request<http::string_body> req{http::string_to_verb(method), target, 11};
  req.set(http::field::host, "localhost");
  req.set(http::field::user_agent, "hiegatectl/" HIEGATE_VERSION);
  if (!token.empty()) req.set(http::field::authorization, "Bearer " + token);
  if (!content_type.empty()) req.set(http::field::content_type, content_type);
  for (const auto& [name, value] : headers) req.set(name, value);
  req.body() = body;
  req.prepare_payload();
  beast::error_code ec;
  http::write(sock, req, ec);
  if (ec) return make_error("io_error", "cannot send the request: " + ec.message());
  beast::flat_buffer buf;
  transport::make_read_room(buf);  // an export or a document: 64 KiB reads, not 512-byte ones
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  http::read(sock, buf, parser, ec);
  if (ec) return make_error("io_error", "cannot read the answer: " + ec.message());
  auto res = parser.release();
  return LocalResponse{res.result_int(), std::move(res.body())};
}
}  // namespace

Result<LocalResponse> LocalClient::request(const std::string& method, const std::string& target,
                                           const std::string& token, const std::string& body,
                                           const std::string& content_type) const {
  net::io_context ioc;
  beast::error_code ec;
  if (where_.starts_with("tcp:")) {
    const std::string hp = where_.substr(4);
    const auto colon = hp.rfind(':');
    if (colon == std::string::npos) return make_error("usage", "tcp address must be tcp:HOST:PORT");
    net::ip::tcp::resolver resolver(ioc);
    auto results = resolver.resolve(hp.substr(0, colon), hp.substr(colon + 1), ec);
    if (ec) return make_error("io_error", "cannot resolve " + hp + ": " + ec.message());
    net::ip::tcp::socket sock(ioc);
    net::connect(sock, results, ec);
    if (ec) return make_error("io_error", "cannot connect to " + hp + ": " + ec.message());
    return exchange(sock, method, target, token, body, content_type, headers_);
  }
  net::local::stream_protocol::socket sock(ioc);
  sock.connect(net::local::stream_protocol::endpoint(where_), ec);
  if (ec) {
    return make_error("io_error", "cannot connect to " + where_ + ": " + ec.message() +
                                      " (is hiegated running? systemctl status hiegate)");
  }
  return exchange(sock, method, target, token, body, content_type, headers_);
}

Result<std::string> read_token(const std::optional<std::string>& file) {
  std::string token;
  if (file) {
    std::ifstream f(*file);
    if (!f) return make_error("io_error", "cannot read the token file " + *file);
    std::ostringstream ss;
    ss << f.rdbuf();
    token = ss.str();
  } else if (const char* env = std::getenv("HIEGATE_TOKEN")) {
    token = env;
  } else {
    return make_error("usage", "no API token: pass --token-file FILE or set HIEGATE_TOKEN");
  }
  while (!token.empty() && (token.back() == '\n' || token.back() == ' ' || token.back() == '\r')) {
    token.pop_back();
  }
  return token;
}

}  // namespace hiegate::tools
