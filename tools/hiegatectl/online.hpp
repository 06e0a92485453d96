// The commands that talk to the running daemon over its local API: one way
// to reach it (--socket, --token-file or $HIEGATE_TOKEN, --as for
// X-HIE-User) and one way to report what it answered.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "cli.hpp"
#include "hiegatectl/local_client.hpp"

namespace hiegate::tools {

/// The options every online command takes (besides its own).
inline constexpr const char* kOnlineOptions =
    "  --socket PATH      the daemon's local API socket (default /run/hiegate/local.sock,\n"
    "                     or tcp:HOST:PORT)\n"
    "  --token-file FILE  the bearer token (default: $HIEGATE_TOKEN)\n"
    "  --json             print the daemon's JSON answer as it is\n";

class Online {
public:
  /// From --socket, --token-file and --as; nullopt (the reason printed) when
  /// no token can be read.
  static std::optional<Online> from(const Args& args);

  /// One request. 0: answered 2xx, `out` holds the JSON answer. 1: refused
  /// (its code and message printed). 2: the daemon could not be reached.
  int call(const std::string& method, const std::string& target, const nlohmann::json* body,
           nlohmann::json& out) const;

private:
  Online(LocalClient c, std::string t) : client_(std::move(c)), token_(std::move(t)) {}
  LocalClient client_;
  std::string token_;
};

/// Whether `id` may be sent as one path segment of the local API
/// ([A-Za-z0-9._-]{1,64}; the daemon checks the exact rule).
[[nodiscard]] bool is_path_segment(const std::string& id);

}  // namespace hiegate::tools
