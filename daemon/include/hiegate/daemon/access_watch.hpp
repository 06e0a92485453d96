// Signs of a leak in the making (規程 第29条, leak response): a user whose
// reads cover unusually many patients, a user refused again and again, a
// burst of break-glass accesses. Every audited record passes through
// observe(); anomalies() says which of those conditions hold over the last
// window, for the daemon's alerts (alert_raised / alert_cleared, journald)
// and /v1/status. Thresholds come from [alerts]; 0 turns one off.
//
// Memory only, and no patient id in it: patients are kept as keyed
// BLAKE2b-128 pseudonyms under a key drawn at start. Bounded: at most
// kMaxEventsPerUser events per user and kMaxUsers users (the least recently
// seen go first).
//
// Thread-safe: observe() is called from request handlers on any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "hiegate/crypto/pseudonym.hpp"
#include "hiegate/daemon/config.hpp"

namespace hiegate::daemon {

struct AuditRecord;

struct Anomaly {
  std::string alert;  ///< "access_many_patients", "access_many_refusals", "access_emergency_burst"
  std::string user;   ///< who (facility/user id); empty for the facility-wide one
  std::size_t count = 0;      ///< within the window
  std::size_t threshold = 0;  ///< what it exceeded
  bool operator==(const Anomaly&) const = default;
};

class AccessWatch {
public:
  using Clock = std::chrono::system_clock;
  static constexpr std::size_t kMaxEventsPerUser = 4096;
  static constexpr std::size_t kMaxUsers = 10000;

  AccessWatch();

  /// Counts `r` at `now`: a successful read naming a patient, a refusal
  /// (minor failure) by a user, a successful emergency access.
  void observe(const AuditRecord& r, Clock::time_point now);

  /// The conditions over `rules` that hold at `now`, in a stable order.
  [[nodiscard]] std::vector<Anomaly> anomalies(const AccessWatchRules& rules, Clock::time_point now);

private:
  struct UserEvents {
    std::deque<std::pair<Clock::time_point, crypto::Pseudonym>> reads;
    std::map<crypto::Pseudonym, std::size_t> patients;  // of `reads`
    std::deque<Clock::time_point> refusals;
    Clock::time_point last_seen{};
  };
  void prune(UserEvents& u, Clock::time_point since);
  void evict_one();

  std::mutex mu_;
  std::optional<crypto::Pseudonymizer> pseudonyms_;
  std::map<std::string, UserEvents> users_;
  std::deque<Clock::time_point> emergencies_;
  Millis horizon_{3'600'000};  // the longest window asked for so far
};

}  // namespace hiegate::daemon
