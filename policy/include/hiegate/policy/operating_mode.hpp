// The operating mode a gateway derives from its directive state
// (shared/spec/directives.md, "Actions" and §4). Pure functions of the state,
// the facility and the time; cheap enough to call per request from any
// thread on a shared read-only state.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hiegate/policy/directive_bodies.hpp"
#include "hiegate/policy/directives.hpp"
#include "hiegate/policy/functions.hpp"
#include "hiegate/policy/rfc3339.hpp"

namespace hiegate::policy {

/// An order that stops this gateway (`stop`, or `suspend_facility` of our own
/// facility): what a refusal with `network_stopped` reports.
struct StopCause {
  std::string order_id;
  Action action = Action::stop;
  OrderReason reason = OrderReason::failure;
  std::optional<BilingualMessage> message;
};

/// A `purge_cache` order in force. Carried out once per order id: the caller
/// remembers which ids it has executed.
struct PurgeOrder {
  std::string order_id;
  Time purge_before{};
};

/// The effect of the stored orders on one facility at one time. Only orders
/// whose audience holds the facility and whose window contains the time count.
struct OrdersEffect {
  FunctionSet allowed = FunctionSet::all();       // none when stopped; restricts intersect
  std::vector<StopCause> stopped_by;              // in document order
  std::vector<std::string> suspended_users;       // sorted, unique: refuse locally and from peers
  std::vector<std::string> suspended_facilities;  // sorted, unique: refuse their requests
  bool disaster = false;                          // widen emergency access per [policy.disaster]
  std::vector<PurgeOrder> purges;

  [[nodiscard]] bool stopped() const noexcept { return !stopped_by.empty(); }
  [[nodiscard]] bool user_suspended(std::string_view user) const;
  [[nodiscard]] bool facility_suspended(std::string_view facility) const;
};

/// `orders` may be null (none stored: normal operation).
[[nodiscard]] OrdersEffect orders_effect(const OrderSet* orders, std::string_view facility,
                                         Time at);

/// What to fall back to when stale past the grace, or when the stored state
/// failed verification at start.
enum class FallbackMode : std::uint8_t { emergency_only, stop, keep };
[[nodiscard]] std::string_view name(FallbackMode m) noexcept;
[[nodiscard]] std::optional<FallbackMode> parse_fallback_mode(std::string_view s) noexcept;
/// emergency_only keeps at most `emergency`; stop keeps nothing; keep keeps all.
[[nodiscard]] FunctionSet limit(FunctionSet allowed, FallbackMode m) noexcept;

struct FreshnessOptions {
  std::chrono::seconds stale_grace = std::chrono::hours(72);
  FallbackMode stale_mode = FallbackMode::emergency_only;
  FallbackMode failsafe_mode = FallbackMode::emergency_only;
};

/// §4 freshness.
/// - stale: no stored heartbeat, or it expired (now >= expires_at). Since:
///   its expires_at; without any heartbeat, the newest issued_at of the
///   current keyset and the stored orders (so a state that never saw a
///   heartbeat degrades too).
/// - behind: the heartbeat names an orders_sequence above the stored one
///   (after a key-change reset the stored one counts as 0), or names the
///   stored sequence with a different digest. Since: the issued_at of the
///   first heartbeat of the stretch (DirectiveState::behind_from), so that
///   fresh heartbeats naming orders that never arrive do not restart it.
/// - stale_mode: stale or behind for longer than stale_grace; `fallback` is
///   then options.stale_mode.
struct Freshness {
  bool stale = false;
  bool behind = false;
  bool grace_over = false;
  std::optional<Time> stale_since;
  std::optional<Time> behind_since;
  std::optional<FallbackMode> fallback;  // set when grace_over
};

[[nodiscard]] Freshness freshness(const DirectiveState& state, Time now,
                                  const FreshnessOptions& options);

/// Everything a request needs: the orders' effect, freshness, and the
/// functions finally allowed.
struct OperatingMode {
  OrdersEffect orders;
  Freshness freshness;
  bool failsafe = false;  // stored state missing or failing verification
  FunctionSet allowed;    // orders.allowed limited by any fallback

  [[nodiscard]] bool allows(Function f) const noexcept { return allowed.contains(f); }
  /// For status: "failsafe", "stopped", "stale_mode", "restricted", "stale",
  /// "behind" or "normal", the first that applies.
  [[nodiscard]] std::string_view summary() const noexcept;
};

[[nodiscard]] OperatingMode effective_mode(const DirectiveState& state, std::string_view facility,
                                           Time now, const FreshnessOptions& options);

/// The mode without a trustworthy state (§4: failsafe_mode, loudly).
[[nodiscard]] OperatingMode failsafe_mode(const FreshnessOptions& options);

}  // namespace hiegate::policy
