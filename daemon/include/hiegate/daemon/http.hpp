// The local API's request/response vocabulary and router.
//
// A handler receives the parsed request and a Responder. It may answer at
// once or later from any thread (after a store or peer call): Responder::send
// hands the response back to the connection's strand. A Responder dropped
// without an answer sends 500 internal_error, so a lost callback can never
// hang a client.
#pragma once

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "hiegate/common/result.hpp"
#include "hiegate/daemon/config.hpp"
#include "hiegate/policy/functions.hpp"
#include "hiegate/transport/peer_http.hpp"

namespace hiegate::daemon {

namespace http = boost::beast::http;
using HttpRequest = http::request<http::string_body>;
using HttpResponse = http::response<http::string_body>;

/// What an answer needs kept until it has been written, or its connection
/// is gone: the place of its document in the memory budget, say. A handler
/// adds to its request's Keep, from any thread, before it sends the answer.
class Keep {
public:
  void add(std::shared_ptr<const void> held);

private:
  std::mutex mu_;
  std::vector<std::shared_ptr<const void>> held_;
};

/// A request body the server leaves unread for its handler: the raw body
/// (Content-Type application/octet-stream) of a route added with
/// Router::add_streamed, up to [local_api] max_document_bytes, read a
/// window at a time so that its size never decides the memory it takes.
class BodyReader {
public:
  virtual ~BodyReader() = default;
  /// A piece of the body, or an error: `payload_too_large`,
  /// `request_timeout`, `bad_request` (not valid HTTP/1.1),
  /// `connection_closed`. Any error also ends the connection after the
  /// answer; body_read_error() is that answer.
  using Piece = std::function<void(Result<std::string>)>;
  /// The next piece, at most 64 KiB; an empty one once the body has ended.
  /// Calls must not overlap; `piece` runs on the connection's strand.
  virtual void read(Piece piece) = 0;
};

struct ApiRequest {
  HttpRequest msg;  ///< its body is empty when `body` is set
  /// The unread body of a streamed raw request (Router::add_streamed), else null.
  std::shared_ptr<BodyReader> body;
  std::string route;  ///< the matched pattern, e.g. "/v1/documents/{id}"
  std::vector<std::pair<std::string, std::string>> params;  ///< path parameters, decoded
  std::string query;       ///< raw query string without '?'
  std::string request_id;  ///< echoed as X-Request-Id
  std::string token_name;  ///< which configured token authenticated the caller
  ConfigPtr config;        ///< the snapshot in force when the request arrived
  std::chrono::steady_clock::time_point started;
  /// The network function this request exercises. A handler sets it before
  /// returning; the server then keeps the request registered in flight until
  /// its response is written, and a new order forbidding the function cuts
  /// the connection.
  std::optional<policy::Function> function;
  /// Released by the server once the response is written.
  std::shared_ptr<Keep> keep = std::make_shared<Keep>();

  [[nodiscard]] std::string_view param(std::string_view name) const;
  /// Value of query parameter `name` (percent-decoded), or nullopt.
  [[nodiscard]] std::optional<std::string> query_param(std::string_view name) const;
};

/// Sends exactly one response for one request. Move-only; thread-safe to
/// call from any thread.
class Responder {
public:
  /// The response, and its body stream when the body is written piece by
  /// piece (then the response's own body is empty and ignored).
  using Sink = std::function<void(HttpResponse, std::shared_ptr<transport::BodyStream>)>;
  explicit Responder(Sink sink) : sink_(std::make_unique<Sink>(std::move(sink))) {}
  Responder(Responder&&) noexcept = default;
  Responder& operator=(Responder&&) noexcept = default;
  Responder(const Responder&) = delete;
  Responder& operator=(const Responder&) = delete;
  ~Responder();

  void send(HttpResponse res, std::shared_ptr<transport::BodyStream> body = nullptr);
  [[nodiscard]] bool sent() const { return sink_ == nullptr; }

private:
  std::unique_ptr<Sink> sink_;
};

using Handler = std::function<void(ApiRequest&, Responder)>;

/// JSON response with the security headers every API answer carries.
[[nodiscard]] HttpResponse json_response(http::status status, const nlohmann::json& body);
/// The compact JSON text of `j`. Strings holding invalid UTF-8 (input echoed
/// back, e.g. in a parse error) get U+FFFD instead of making dump() throw.
[[nodiscard]] std::string json_text(const nlohmann::json& j);
/// {"error":{"code":…,"message":…}} plus any extra members given in `extra`.
[[nodiscard]] HttpResponse error_response(http::status status, std::string_view code,
                                          std::string_view message);
/// 503 `overloaded` with Retry-After: 1, for a request whose document does
/// not fit in the memory budget now (MemoryBudget).
[[nodiscard]] HttpResponse memory_full_response();
/// The answer to a BodyReader error: 413, 408 or 400 with its code.
[[nodiscard]] HttpResponse body_read_error(const Error& e);
[[nodiscard]] HttpResponse error_response(http::status status, std::string_view code,
                                          std::string_view message, const nlohmann::json& extra);
[[nodiscard]] HttpResponse text_response(http::status status, std::string body,
                                         std::string_view content_type);

/// Maps (method, path) to a handler. Patterns are literal segments and
/// "{name}" segments matching one non-empty segment. Built once before the
/// server starts, then read-only (thread-safe for lookups).
class Router {
public:
  struct Route {
    http::verb method;
    std::string pattern;
    bool authenticated = true;  ///< false only for health probes
    Handler handler;
    bool streams_raw = false;  ///< a raw body reaches the handler unread (add_streamed)
  };
  void add(http::verb method, std::string pattern, Handler h, bool authenticated = true);
  /// An authenticated route whose raw bodies (application/octet-stream) the
  /// handler reads itself, through ApiRequest::body; other bodies are read
  /// whole as on any route.
  void add_streamed(http::verb method, std::string pattern, Handler h);

  struct Match {
    const Route* route = nullptr;
    bool path_known = false;  ///< some route has this path (→ 405 instead of 404)
    std::vector<std::pair<std::string, std::string>> params;
  };
  [[nodiscard]] Match match(http::verb method, std::string_view path) const;

  /// Adds every route of `other`, each handler passed through `wrap` (for
  /// cross-cutting concerns such as auditing a whole group of routes).
  void add_all(const Router& other, const std::function<Handler(const Route&)>& wrap);

private:
  std::vector<Route> routes_;
};

/// Percent-decodes `s`; false on malformed escapes or a decoded NUL.
[[nodiscard]] bool percent_decode(std::string_view s, std::string& out);

}  // namespace hiegate::daemon
