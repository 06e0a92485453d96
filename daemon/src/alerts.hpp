// Conditions facility IT must hear about while the gateway runs (a stale or
// behind secretariat, stale_mode, a stale CRL, an expiring certificate): each
// is logged once when it starts (alert_raised) and once when it ends
// (alert_cleared), with a stable ALERT name, not at every check.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace hiegate::daemon {

class Alerts {
public:
  struct Change {
    std::string name;
    bool raised = false;  ///< false: cleared
  };
  /// The state of condition `name` now; the change since the last call, if
  /// any. A condition first seen off is no change (nothing to clear).
  std::optional<Change> set(const std::string& name, bool on) {
    auto [it, fresh] = on_.try_emplace(name, on);
    if (fresh) return on ? std::optional<Change>(Change{name, true}) : std::nullopt;
    if (it->second == on) return std::nullopt;
    it->second = on;
    return Change{name, on};
  }
  /// Whether `name` is raised now.
  [[nodiscard]] bool raised(const std::string& name) const {
    const auto it = on_.find(name);
    return it != on_.end() && it->second;
  }

  /// The conditions raised now, by name.
  [[nodiscard]] std::vector<std::string> raised_names() const {
    std::vector<std::string> out;
    for (const auto& [name, on] : on_) {
      if (on) out.push_back(name);
    }
    return out;
  }

private:
  std::map<std::string, bool> on_;
};

}  // namespace hiegate::daemon
