// The daemon's holder of the directive state: applies deliveries in the
// spec's order (verify, persist, then apply, then answer) and serves the
// operating mode to request handlers.
//
// Thread-safety: deliver() calls are serialised internally; mode() and
// snapshot() may be called from any thread at any time and see either the
// old or the new state, never a mix (the state is swapped as one immutable
// snapshot). Fail-closed: a persistence failure leaves the old state in force.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "hiegate/common/result.hpp"
#include "hiegate/daemon/directive_store.hpp"
#include "hiegate/policy/directives.hpp"
#include "hiegate/policy/operating_mode.hpp"

namespace hiegate::daemon {

/// One immutable view: the verified state and whether we are in failsafe.
struct DirectiveSnapshot {
  policy::DirectiveState state;
  bool failsafe = false;
  std::string failsafe_reason;
};

class DirectiveService {
 public:
  DirectiveService(DirectiveStore store, DirectiveStartup startup, policy::VerifierOptions verifier,
                   policy::FreshnessOptions freshness);

  /// One envelope. Rejections and no-ops come back as a Verdict (audit it;
  /// raise an alert on `equivocation`). An accepted document is persisted
  /// before the state changes; if that fails the error is `store_write_failed`
  /// and nothing changes. An accepted orders document ends failsafe.
  /// The returned Verdict never carries `next`.
  [[nodiscard]] Result<policy::Verdict> deliver(std::string_view envelope, policy::Time now);

  [[nodiscard]] std::shared_ptr<const DirectiveSnapshot> snapshot() const;

  /// The mode for `facility` now: failsafe_mode() while in failsafe.
  [[nodiscard]] policy::OperatingMode mode(std::string_view facility, policy::Time now) const;

 private:
  DirectiveStore store_;
  policy::VerifierOptions verifier_;
  policy::FreshnessOptions freshness_;
  std::mutex deliver_mu_;           // serialises deliver()
  mutable std::mutex snapshot_mu_;  // guards the pointer only
  std::shared_ptr<const DirectiveSnapshot> current_;
};

}  // namespace hiegate::daemon
