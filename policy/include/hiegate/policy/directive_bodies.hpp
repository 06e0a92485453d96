// The three signed bodies of the secretariat (shared/spec/directives.md §2)
// as typed values, and their strict readers.
//
// The readers run only on bodies whose signatures already verified; they
// reject with the spec's reason codes as Error::code: `malformed` (not strict
// JSON), `type_mismatch` (a `type` other than expected), `invalid` (any schema
// rule). They do not look at the network, the clock or stored state. Pure
// functions, thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hiegate/common/result.hpp"
#include "hiegate/crypto/primitives.hpp"
#include "hiegate/crypto/sign.hpp"
#include "hiegate/policy/functions.hpp"
#include "hiegate/policy/rfc3339.hpp"

namespace hiegate::policy {

enum class DocumentKind : std::uint8_t { keyset, orders, heartbeat };
/// Signing role of each kind: keyset → root, orders → orders, heartbeat → heartbeat.
enum class KeyRole : std::uint8_t { root, orders, heartbeat };

[[nodiscard]] std::string_view payload_type(DocumentKind k) noexcept;
[[nodiscard]] std::optional<DocumentKind> kind_of_payload_type(std::string_view t) noexcept;
[[nodiscard]] std::string_view name(DocumentKind k) noexcept;  // "keyset", "orders", "heartbeat"
[[nodiscard]] std::string_view name(KeyRole r) noexcept;
[[nodiscard]] KeyRole signing_role(DocumentKind k) noexcept;

inline constexpr std::uint64_t kMaxSequence = (std::uint64_t{1} << 53) - 1;

struct RoleKeys {
  std::vector<crypto::Ed25519PublicKey> keys;  // distinct, each a valid point
  std::uint32_t threshold = 0;                 // 1 <= threshold <= keys.size()
  friend bool operator==(const RoleKeys&, const RoleKeys&) = default;
};

struct Keyset {
  std::string network;
  std::uint64_t version = 0;
  Time issued_at{};
  RoleKeys root, orders, heartbeat;
  [[nodiscard]] const RoleKeys& role(KeyRole r) const noexcept;
};

enum class Action : std::uint8_t {
  stop,
  restrict,
  disaster,
  suspend_user,
  suspend_facility,
  purge_cache
};
enum class OrderReason : std::uint8_t {
  failure,
  maintenance,
  equipment,
  data_recovery,
  management,
  disaster,
  violation
};
[[nodiscard]] std::string_view name(Action a) noexcept;
[[nodiscard]] std::string_view name(OrderReason r) noexcept;

/// Shown to users; each at most 500 characters (code points).
struct BilingualMessage {
  std::string ja;
  std::string en;
};

struct Order {
  std::string id;  // [A-Za-z0-9._-]{1,64}; never a file name
  Action action = Action::stop;
  bool audience_all = false;          // "*"
  std::vector<std::string> audience;  // facility codes when not audience_all
  OrderReason reason = OrderReason::failure;
  std::optional<Time> not_before;  // active in [not_before, not_after)
  std::optional<Time> not_after;
  std::optional<BilingualMessage> message;
  FunctionSet allow;                 // restrict only
  std::string user;                  // suspend_user only: <facility>/<user id>
  std::string facility;              // suspend_facility only
  std::optional<Time> purge_before;  // purge_cache only

  [[nodiscard]] bool addresses(std::string_view facility_code) const noexcept;
  [[nodiscard]] bool active_at(Time t) const noexcept;
};

struct OrderSet {
  std::string network;
  std::uint64_t keyset_version = 0;
  std::uint64_t sequence = 0;
  Time issued_at{};
  std::vector<Order> orders;  // ids unique
};

struct Heartbeat {
  std::string network;
  std::uint64_t keyset_version = 0;
  std::uint64_t sequence = 0;
  Time issued_at{};
  Time expires_at{};  // issued_at < expires_at <= issued_at + max validity
  std::uint64_t orders_sequence = 0;
  crypto::Sha256 orders_digest{};  // SHA-256 of the orders BODY bytes
};

inline constexpr std::chrono::seconds kDefaultMaxHeartbeatValidity = std::chrono::hours(24 * 7);

[[nodiscard]] Result<Keyset> parse_keyset_body(std::string_view body);
[[nodiscard]] Result<OrderSet> parse_orders_body(std::string_view body);
[[nodiscard]] Result<Heartbeat> parse_heartbeat_body(
    std::string_view body, std::chrono::seconds max_validity = kDefaultMaxHeartbeatValidity);

/// A facility code: ten ASCII digits (医療機関コード).
[[nodiscard]] bool is_facility_code(std::string_view s) noexcept;

}  // namespace hiegate::policy
