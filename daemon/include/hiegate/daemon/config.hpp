// The gateway's configuration: parsed from TOML, validated, and frozen into
// one immutable snapshot. Defaults live in this header's member initialisers
// and nowhere else. etc/hiegate.toml documents every key.
//
// Thread-safety: a Config is immutable once loaded; share it as
// std::shared_ptr<const Config>. Reload builds a whole new snapshot.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "hiegate/common/result.hpp"
#include "hiegate/daemon/log.hpp"

namespace hiegate::daemon {

using Seconds = std::chrono::seconds;
using Millis = std::chrono::milliseconds;

/// host:port of a loopback listener ("127.0.0.1:8470", "[::1]:8470").
struct ListenAddress {
  std::string host;  ///< literal IP address, no brackets
  std::uint16_t port = 0;
  [[nodiscard]] std::string to_string() const;
};

/// SHA-256 of a bearer token, as configured: "sha256:<64 hex>".
struct TokenHash {
  std::string name;  ///< label for logs ("ehr", "admin-console"); never the token
  std::array<std::uint8_t, 32> sha256{};
};

struct Config {
  /// Where it was loaded from and what it was (for status and reload).
  std::filesystem::path source;
  std::string digest;  ///< hex SHA-256 of the file's bytes

  struct Network {
    std::string id;        ///< [network] id, e.g. "nishitama"
    std::string facility;  ///< [network] facility, this gateway's 10-digit code
  } network;

  struct Daemon {
    unsigned threads = 2;
    Millis drain_timeout{10'000};
    Level log_level = Level::info;
    std::filesystem::path state_dir = "/var/lib/hiegate";
  } daemon;

  struct LocalApi {
    std::vector<ListenAddress> listen{ListenAddress{"127.0.0.1", 8470}};
    std::filesystem::path unix_socket = "/run/hiegate/local.sock";  ///< empty = none
    unsigned unix_socket_mode = 0660;
    std::vector<TokenHash> tokens;
    std::size_t max_header_bytes = 16 * 1024;
    std::size_t max_body_bytes = 64 * 1024 * 1024;
    Millis request_timeout{30'000};
    Millis idle_timeout{60'000};
    std::size_t max_connections = 1024;
  } local_api;
};

using ConfigPtr = std::shared_ptr<const Config>;

/// One problem found in a config file: "FILE:LINE:COL: KEY: MESSAGE".
struct ConfigIssue {
  std::string file;
  unsigned line = 0;    ///< 0 when not tied to a place in the file
  unsigned column = 0;
  std::string key;      ///< dotted key path, e.g. "local_api.listen[0]"
  std::string message;
  [[nodiscard]] std::string to_string() const;
};

/// Either a valid snapshot or every problem found (not just the first).
struct ConfigLoad {
  ConfigPtr config;
  std::vector<ConfigIssue> issues;
  [[nodiscard]] bool ok() const { return config != nullptr; }
  /// All issues, one per line.
  [[nodiscard]] std::string report() const;
};

/// Reads and validates `path`. Never throws.
[[nodiscard]] ConfigLoad load_config(const std::filesystem::path& path);
/// Same, from text already in memory (`name` is used in messages).
[[nodiscard]] ConfigLoad parse_config(std::string_view text, const std::string& name);

/// "30s", "500ms", "5m", "24h", "7d" → milliseconds. False on anything else.
[[nodiscard]] bool parse_duration(std::string_view s, Millis& out) noexcept;

inline constexpr const char* kDefaultConfigPath = "/etc/hiegate/hiegate.toml";

}  // namespace hiegate::daemon
