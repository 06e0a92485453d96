// A bound on the document bytes the gateway holds in memory at once: request
// bodies being received, document contents read for an answer, and
// documents fetched from other facilities, each from the moment it is
// admitted until its answer has been written. Without it, enough concurrent
// large documents could take the host's memory (and the OOM killer might
// pick the EHR's database). Fail-closed: bytes that would exceed the limit
// are refused, and the caller answers 503 `overloaded` with Retry-After
// before it does the work, so nothing is half-done and nothing is audited as
// served that was not.
//
// Thread-safety: every member may be called from any thread; a Hold may be
// released on any thread and may outlive the budget.
#pragma once

#include <cstdint>
#include <memory>

namespace hiegate::daemon {

class MemoryBudget {
public:
  /// Keeps its bytes counted until destroyed; null = refused.
  using Hold = std::shared_ptr<const void>;

  explicit MemoryBudget(std::uint64_t limit_bytes);

  /// `bytes` counted against the limit until the returned hold is
  /// destroyed, or null when they do not fit now. Zero bytes always fit.
  /// One request larger than the whole limit never fits (the configuration
  /// check keeps the limit above the largest body a request may bring).
  [[nodiscard]] Hold try_hold(std::uint64_t bytes);

  /// A reload's new limit; bytes held stay held (a lower limit refuses new
  /// holds until enough are released).
  void set_limit(std::uint64_t limit_bytes);

  [[nodiscard]] std::uint64_t limit() const;
  [[nodiscard]] std::uint64_t in_use() const;
  /// Holds refused since start (for metrics).
  [[nodiscard]] std::uint64_t refused_total() const;

  struct State;

private:
  std::shared_ptr<State> state_;
};

}  // namespace hiegate::daemon
