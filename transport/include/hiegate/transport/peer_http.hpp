// HTTP request/response values of the peer API, free of Beast so that the
// daemon's handlers compile fast. The caller identity is the typed
// PeerIdentity from the TLS handshake, never a header.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "hiegate/transport/identity.hpp"

namespace hiegate::transport {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct PeerRequest {
  std::string method;  ///< "GET", "PUT", ...
  std::string target;  ///< as sent, e.g. "/peer/v1/documents?patient=..."
  std::string path;    ///< target without the query
  std::string query;   ///< after '?', undecoded
  HeaderList headers;
  std::string body;
  PeerIdentity peer;  ///< authenticated caller

  /// First header named `name` (case-insensitive).
  [[nodiscard]] std::optional<std::string_view> header(std::string_view name) const;
};

struct PeerResponse {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
  HeaderList headers;
  /// Kept until the response has been written (or its connection is gone):
  /// the body's place in the gateway's memory budget, say.
  std::shared_ptr<const void> keep;

  [[nodiscard]] static PeerResponse json(unsigned status, std::string body);
  /// `{"error":{"code":...,"message":...}}` with proper JSON escaping.
  [[nodiscard]] static PeerResponse error(unsigned status, std::string_view code, std::string_view message);
};

/// Who may call a route.
enum class Caller { facility, secretariat, any };

/// Handlers run on the connection's strand; they must not block for long.
using PeerHandler = std::function<PeerResponse(const PeerRequest&)>;
/// Sends the one response of an asynchronous handler; callable from any
/// thread (the write is posted to the connection's strand). If it is
/// destroyed without being called, the caller gets 500.
using PeerReply = std::function<void(PeerResponse)>;
/// For handlers that wait on the store or other peers: they return at once
/// and answer through `reply` later.
using PeerAsyncHandler = std::function<void(const PeerRequest&, PeerReply reply)>;

struct PeerRoute {
  std::string method;
  std::string path;  ///< exact match, or a prefix when it ends with "/*"
  Caller allowed = Caller::facility;
  PeerHandler handler;             ///< either this ...
  PeerAsyncHandler async_handler;  ///< ... or this
};

/// Route decision, pure: 404 unknown path, 405 wrong method, 403 wrong
/// caller kind; otherwise the route. Exposed for table tests.
struct RouteMatch {
  const PeerRoute* route = nullptr;
  std::optional<PeerResponse> refusal;
};
[[nodiscard]] RouteMatch match_route(const std::vector<PeerRoute>& routes, std::string_view method,
                                     std::string_view path, const PeerIdentity& caller);

}  // namespace hiegate::transport
