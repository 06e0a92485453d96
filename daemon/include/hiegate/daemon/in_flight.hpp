// Requests in flight and the network function each exercises, so that a new
// secretariat order that forbids a function cuts the requests already
// running for it (issue 7: "cut within 1 s").
//
// Thread-safety: every member may be called from any thread. `cut`
// callbacks run outside the registry's lock, on the thread that calls
// hold() or recheck(); they must be quick and thread-safe (typically: post a
// close to the connection's strand). Fail-closed: an operation registered
// while its function is already forbidden is cut at once.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>

#include "hiegate/policy/functions.hpp"

namespace hiegate::daemon {

class InFlight {
public:
  using Allowed = std::function<policy::FunctionSet()>;
  using Handle = std::shared_ptr<void>;

  /// `allowed` gives the functions the mode in force allows now.
  explicit InFlight(Allowed allowed);

  /// Registers an operation exercising `f`; it stays registered until the
  /// returned handle is destroyed (the handle may outlive the registry).
  /// `cut` runs at most once.
  [[nodiscard]] Handle hold(policy::Function f, std::function<void()> cut);

  /// Cuts (and forgets) every operation whose function the mode in force no
  /// longer allows. Returns how many were cut.
  std::size_t recheck();

  [[nodiscard]] std::size_t size() const;
  /// Operations cut since start (for metrics).
  [[nodiscard]] std::size_t cut_total() const;

  struct State;

private:
  Allowed allowed_;
  std::shared_ptr<State> state_;
};

}  // namespace hiegate::daemon
