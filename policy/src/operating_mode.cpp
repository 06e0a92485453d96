#include "hiegate/policy/operating_mode.hpp"

#include <algorithm>

namespace hiegate::policy {
namespace {

void sort_unique(std::vector<std::string>& v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
}

bool sorted_contains(const std::vector<std::string>& v, std::string_view s) {
  return std::binary_search(v.begin(), v.end(), s, std::less<>());
}

}  // namespace

bool OrdersEffect::user_suspended(std::string_view user) const {
  return sorted_contains(suspended_users, user);
}

bool OrdersEffect::facility_suspended(std::string_view facility) const {
  return sorted_contains(suspended_facilities, facility);
}

OrdersEffect orders_effect(const OrderSet* orders, std::string_view facility, Time at) {
  OrdersEffect e;
  if (orders == nullptr) return e;
  for (const Order& o : orders->orders) {
    if (!o.addresses(facility) || !o.active_at(at)) continue;
    switch (o.action) {
      case Action::stop:
        e.stopped_by.push_back(StopCause{o.id, o.action, o.reason, o.message});
        break;
      case Action::restrict:
        e.allowed = e.allowed.intersect(o.allow);
        break;
      case Action::disaster:
        e.disaster = true;
        break;
      case Action::suspend_user:
        e.suspended_users.push_back(o.user);
        break;
      case Action::suspend_facility:
        e.suspended_facilities.push_back(o.facility);
        // Our own facility suspended: this gateway behaves as under stop.
        if (o.facility == facility)
          e.stopped_by.push_back(StopCause{o.id, o.action, o.reason, o.message});
        break;
      case Action::purge_cache:
        e.purges.push_back(PurgeOrder{o.id, o.purge_before.value_or(Time{})});
        break;
    }
  }
  if (!e.stopped_by.empty()) e.allowed = FunctionSet::none();
  sort_unique(e.suspended_users);
  sort_unique(e.suspended_facilities);
  return e;
}

std::string_view name(FallbackMode m) noexcept {
  switch (m) {
    case FallbackMode::emergency_only:
      return "emergency_only";
    case FallbackMode::stop:
      return "stop";
    case FallbackMode::keep:
      return "keep";
  }
  return "emergency_only";
}

std::optional<FallbackMode> parse_fallback_mode(std::string_view s) noexcept {
  for (FallbackMode m : {FallbackMode::emergency_only, FallbackMode::stop, FallbackMode::keep}) {
    if (name(m) == s) return m;
  }
  return std::nullopt;
}

FunctionSet limit(FunctionSet allowed, FallbackMode m) noexcept {
  switch (m) {
    case FallbackMode::emergency_only:
      return allowed.intersect(FunctionSet::none().insert(Function::emergency));
    case FallbackMode::stop:
      return FunctionSet::none();
    case FallbackMode::keep:
      return allowed;
  }
  return FunctionSet::none();
}

Freshness freshness(const DirectiveState& state, Time now, const FreshnessOptions& options) {
  Freshness f;
  if (state.heartbeat) {
    const Heartbeat& hb = state.heartbeat->value;
    if (now >= hb.expires_at) {
      f.stale = true;
      f.stale_since = hb.expires_at;
    }
    if (state.behind()) {
      f.behind = true;
      f.behind_since = state.behind_from ? state.behind_from->value.issued_at : hb.issued_at;
    }
  } else {
    f.stale = true;
    Time since = state.keysets.empty() ? Time{} : state.current_keyset().issued_at;
    if (state.orders) since = std::max(since, state.orders->value.issued_at);
    f.stale_since = since;
  }
  const auto over = [&](const std::optional<Time>& since) {
    return since && now - *since >= options.stale_grace;
  };
  f.grace_over = (f.stale && over(f.stale_since)) || (f.behind && over(f.behind_since));
  if (f.grace_over) f.fallback = options.stale_mode;
  return f;
}

std::string_view OperatingMode::summary() const noexcept {
  if (failsafe) return "failsafe";
  if (orders.stopped()) return "stopped";
  if (freshness.grace_over) return "stale_mode";
  if (orders.allowed != FunctionSet::all()) return "restricted";
  if (freshness.stale) return "stale";
  if (freshness.behind) return "behind";
  return "normal";
}

OperatingMode effective_mode(const DirectiveState& state, std::string_view facility, Time now,
                             const FreshnessOptions& options) {
  OperatingMode m;
  m.orders = orders_effect(state.orders ? &state.orders->value : nullptr, facility, now);
  m.freshness = freshness(state, now, options);
  m.allowed =
      m.freshness.fallback ? limit(m.orders.allowed, *m.freshness.fallback) : m.orders.allowed;
  return m;
}

OperatingMode failsafe_mode(const FreshnessOptions& options) {
  OperatingMode m;
  m.failsafe = true;
  m.freshness.stale = true;
  m.freshness.grace_over = true;
  m.freshness.fallback = options.failsafe_mode;
  m.allowed = limit(FunctionSet::all(), options.failsafe_mode);
  return m;
}

}  // namespace hiegate::policy
