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

struct ApiRequest {
  HttpRequest msg;
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
/// {"error":{"code":…,"message":…}} plus any extra members given in `extra`.
[[nodiscard]] HttpResponse error_response(http::status status, std::string_view code,
                                          std::string_view message);
/// 503 `overloaded` with Retry-After: 1, for a request whose document does
/// not fit in the memory budget now (MemoryBudget).
[[nodiscard]] HttpResponse memory_full_response();
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
  };
  void add(http::verb method, std::string pattern, Handler h, bool authenticated = true);

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
