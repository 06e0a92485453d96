// A small synchronous HTTP/1.1 client for hiegatectl to talk to the running
// daemon over its Unix socket (or loopback TCP with "tcp:HOST:PORT").
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "hiegate/common/result.hpp"

namespace hiegate::tools {

struct LocalResponse {
  unsigned status = 0;
  std::string body;
};

class LocalClient {
public:
  /// `where`: a Unix socket path, or "tcp:127.0.0.1:8470".
  explicit LocalClient(std::string where) : where_(std::move(where)) {}
  /// A header sent with every request from now on (e.g. X-HIE-User).
  void set_header(std::string name, std::string value) { headers_.emplace_back(std::move(name), std::move(value)); }
  [[nodiscard]] Result<LocalResponse> request(const std::string& method, const std::string& target,
                                              const std::string& token,
                                              const std::string& body = {},
                                              const std::string& content_type = {}) const;

private:
  std::string where_;
  std::vector<std::pair<std::string, std::string>> headers_;
};

/// The bearer token from FILE, else $HIEGATE_TOKEN. Whitespace is trimmed.
[[nodiscard]] Result<std::string> read_token(const std::optional<std::string>& file);

}  // namespace hiegate::tools
