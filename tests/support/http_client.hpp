// Blocking HTTP/1.1 test client over loopback TCP or a Unix socket, plus raw
// socket helpers for abuse tests (garbage, slow senders, floods).
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>

namespace hiegate::test {

/// "127.0.0.1:PORT" or "unix:/path".
struct Endpoint {
  std::string where;
};

struct HttpResult {
  int status = 0;  ///< 0 when no response could be read
  std::string body;
  std::map<std::string, std::string> headers;  ///< lower-case names
  std::string error;
};

HttpResult http_request(const Endpoint& ep, const std::string& method, const std::string& target,
                        const std::map<std::string, std::string>& headers = {},
                        const std::string& body = {},
                        std::chrono::milliseconds timeout = std::chrono::seconds(10));

/// A connected raw socket (fd owned). Writes ignore EPIPE.
class RawConn {
public:
  explicit RawConn(const Endpoint& ep);
  ~RawConn();
  RawConn(const RawConn&) = delete;
  RawConn& operator=(const RawConn&) = delete;
  [[nodiscard]] bool ok() const { return fd_ >= 0; }
  /// Sends as much as the peer accepts; false once the peer stops reading.
  bool send(const std::string& data);
  /// One read of whatever is available (waits up to `timeout`); empty on EOF/timeout.
  std::string read_some(std::chrono::milliseconds timeout);
  /// Reads until EOF or timeout; returns what arrived.
  std::string read_all(std::chrono::milliseconds timeout);
  /// True if the peer closed the connection within `timeout`.
  bool closed_by_peer(std::chrono::milliseconds timeout);
  [[nodiscard]] int fd() const { return fd_; }

private:
  int fd_ = -1;
};

/// Status code of a raw HTTP response text, or 0.
int status_of(const std::string& raw_response);

}  // namespace hiegate::test
