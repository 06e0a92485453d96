// HTTP request/response values of the peer API, free of Beast so that the
// daemon's handlers compile fast. The caller identity is the typed
// PeerIdentity from the TLS handshake, never a header.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "hiegate/common/result.hpp"
#include "hiegate/transport/identity.hpp"

namespace hiegate::transport {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

/// A response body produced piece by piece (a large document read from the
/// store a window at a time), so that an answer holds one piece in memory,
/// whatever its size. The server announces `size` as the Content-Length,
/// asks for the next piece only once the previous one is written, and asks
/// once more after the last byte: that call must answer an empty piece (the
/// end, verified). A piece that fails, or a body that runs longer or shorter
/// than `size`, closes the connection: the client sees a short body, never a
/// complete-looking wrong one.
struct BodyStream {
  using Piece = std::function<void(Result<std::string>)>;
  std::uint64_t size = 0;
  /// Called on the connection's strand; `done` may run on any thread.
  std::function<void(Piece done)> next;
};

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
  /// When set, the body is written from it instead of `body` (left empty).
  std::shared_ptr<BodyStream> stream;

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
