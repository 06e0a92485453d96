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
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hiegate/common/result.hpp"
#include "hiegate/daemon/log.hpp"
#include "hiegate/daemon/tunnels_config.hpp"
#include "hiegate/policy/export_rules.hpp"

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

/// [alerts]: what counts as an anomaly over `window` (AccessWatch); 0 turns
/// a condition off.
struct AccessWatchRules {
  Millis window{3'600'000};
  std::size_t patients_per_user = 50;   ///< distinct patients one user read
  std::size_t refusals_per_user = 30;   ///< requests of one user refused by a rule
  std::size_t emergency_accesses = 10;  ///< break-glass accesses, all users
  bool operator==(const AccessWatchRules&) const = default;
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
    /// Document bytes held in memory at once (request bodies, contents read
    /// for an answer, documents fetched from peers); past it, requests get
    /// 503 `overloaded`. At least [local_api] max_body_bytes.
    std::uint64_t document_memory_bytes = 512ULL << 20;
  } daemon;

  struct Store {
    /// The 32-byte master key; ignored when $CREDENTIALS_DIRECTORY/master-key
    /// exists (systemd LoadCredential=).
    std::filesystem::path master_key = "/etc/hiegate/master-key";
    std::uint64_t cache_max_bytes = 512ULL << 20;
    /// A fetched document larger than this is not kept: it is relayed to
    /// the EHR as it arrives (a raw answer), holding a window of memory.
    std::uint64_t cache_max_document_bytes = 16ULL << 20;
    Millis cache_ttl{24LL * 3600 * 1000};
    /// Cached documents are served again only while the disclosing side's
    /// consent decision is younger than this; older ones are re-asked.
    Millis consent_evidence_max_age{5LL * 60 * 1000};
  } store;

  /// Mutual TLS with the other gateways. Empty cert = the peer network is off
  /// (a standalone gateway: local API only).
  struct Tls {
    std::filesystem::path cert, key, ca, crl;
    Millis crl_grace{0};
    Millis expiry_warning{30LL * 86'400'000};
    Millis handshake_timeout{10'000};
    /// Where newer CRLs are pulled from over mutual TLS (the secretariat's
    /// serve, "https://HOST:PORT/peer/v1/crl"); empty: none. A pulled CRL is
    /// kept in the state directory and used while it is newer than `crl`.
    std::string crl_url;
    Millis crl_pull_interval{3'600'000};
    [[nodiscard]] bool enabled() const { return !cert.empty(); }
    bool operator==(const Tls&) const = default;
  } tls;

  struct PeerApi {
    std::string address = "::";
    std::uint16_t port = 8471;
    std::size_t max_connections = 256;
    std::size_t max_body_bytes = 8 * 1024 * 1024;
    Millis request_timeout{30'000};
    Millis idle_timeout{60'000};
    /// How long a list or fetch by our EHR waits for one peer.
    Millis fetch_timeout{5'000};
    /// Outbound connections kept open to each facility: as many requests to
    /// it run at once, the next waits for one to end.
    std::size_t connections_per_peer = 32;
    /// Fair shares of this gateway among the callers (0: no limit); the
    /// secretariat is exempt from the per-facility ones.
    std::size_t max_connections_per_facility = 64;
    std::size_t max_handshakes_per_address = 64;
    double requests_per_second_per_facility = 1000;
    std::size_t request_burst_per_facility = 2000;
    bool operator==(const PeerApi&) const = default;
  } peer_api;

  /// The directory of participating facilities.
  struct Peer {
    std::string facility;
    std::string host;
    std::uint16_t port = 8471;
    std::uint16_t tunnel_port = 8472;  ///< its service tunnel port
    std::string name;  ///< for messages ("Tama Clinic")
  };
  std::vector<Peer> peers;

  /// The secretariat's signed orders (shared/spec/directives.md).
  struct Directives {
    std::filesystem::path keyset;  ///< keyset v1 (trust anchor); empty = no secretariat
    Millis max_clock_skew{300'000};
    Millis stale_grace{72LL * 3'600'000};
    std::string stale_mode = "emergency_only";    ///< emergency_only | stop | keep
    std::string failsafe_mode = "emergency_only";  ///< emergency_only | stop | keep
    std::string pull_url;  ///< https URL of the secretariat's orders; empty = push only
    Millis pull_interval{300'000};  ///< between successful pulls (failures retry sooner, backing off)
    bool operator==(const Directives&) const = default;
  } directives;

  struct Policy {
    std::vector<std::string> view_roles{"physician", "nurse", "pharmacist", "technician"};
    unsigned consent_validity_years = 5;
    struct Emergency {
      std::size_t reason_min_chars = 10;
      std::vector<std::string> roles;
      std::vector<std::string> document_types;
      Millis window{0};
    };
    Emergency emergency{10, {"physician", "nurse"}, {"summary", "allergy", "medication", "lab"},
                        Millis(24LL * 3'600'000)};
    Emergency disaster{10, {"physician", "nurse", "pharmacist", "technician"}, {"*"},
                       Millis(72LL * 3'600'000)};
    policy::ExportRules export_rules;  ///< [policy.export], docs/exports.md
  } policy;

  /// The audit trail ([audit], docs/audit.md). Read at start only.
  struct Audit {
    std::uint64_t checkpoint_every = 1000;
    Millis checkpoint_interval{300'000};
    std::size_t group_max_records = 256;
    Millis group_max_wait{0};
    Millis retention{5LL * 365 * 86'400'000};
    /// Live copy as syslog: "" (off), "unix:/dev/log" or "tls://HOST:PORT".
    std::string syslog;
    std::filesystem::path syslog_ca;  ///< PEM CA(s) of the TLS collector
    std::size_t syslog_backlog = 10000;
    bool operator==(const Audit&) const = default;
  } audit;

  /// Service tunnels ([tunnels], [[tunnels.out]], [[tunnels.in]]).
  TunnelsConfig tunnels;

  AccessWatchRules alerts;

  struct LocalApi {
    std::vector<ListenAddress> listen{ListenAddress{"127.0.0.1", 8470}};
    std::filesystem::path unix_socket = "/run/hiegate/local.sock";  ///< empty = none
    unsigned unix_socket_mode = 0660;
    std::vector<TokenHash> tokens;  ///< [[local_api.tokens]], then tokens_file's
    /// One token per line, "NAME sha256:HEX" (hiegatectl token new --file);
    /// read with the config, so at every reload. Empty: none.
    std::filesystem::path tokens_file;
    std::size_t max_header_bytes = 16 * 1024;
    std::size_t max_body_bytes = 64 * 1024 * 1024;
    /// Largest document published as a raw body (application/octet-stream),
    /// which is stored as it arrives; a text document is also held whole for
    /// its check, so max_body_bytes bounds it too.
    std::uint64_t max_document_bytes = 1ULL << 30;
    Millis request_timeout{30'000};
    Millis idle_timeout{60'000};
    std::size_t max_connections = 1024;
  } local_api;
};

using ConfigPtr = std::shared_ptr<const Config>;

/// [audit] syslog split into its parts: a Unix socket path, or a TLS host
/// and port. nullopt for "" or anything malformed.
struct SyslogTarget {
  std::string unix_path;
  std::string tls_host;
  std::uint16_t tls_port = 0;
};
[[nodiscard]] std::optional<SyslogTarget> parse_syslog_target(std::string_view v);

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
