#include "hiegate/daemon/access_watch.hpp"

#include "hiegate/crypto/primitives.hpp"
#include "hiegate/daemon/audit.hpp"

namespace hiegate::daemon {

AccessWatch::AccessWatch()
    : pseudonyms_(crypto::Pseudonymizer::create(crypto::random_bytes(crypto::kPseudonymKeySize))) {}

namespace {
template <class Events>
void drop_oldest_read(Events& u) {
  const auto it = u.patients.find(u.reads.front().second);
  if (it != u.patients.end() && --it->second == 0) u.patients.erase(it);
  u.reads.pop_front();
}
}  // namespace

void AccessWatch::prune(UserEvents& u, Clock::time_point since) {
  while (!u.reads.empty() && u.reads.front().first < since) drop_oldest_read(u);
  while (!u.refusals.empty() && u.refusals.front() < since) u.refusals.pop_front();
}

void AccessWatch::evict_one() {
  auto oldest = users_.begin();
  for (auto it = users_.begin(); it != users_.end(); ++it) {
    if (it->second.last_seen < oldest->second.last_seen) oldest = it;
  }
  if (oldest != users_.end()) users_.erase(oldest);
}

void AccessWatch::observe(const AuditRecord& r, Clock::time_point now) {
  const bool read = r.action == AuditAction::read && r.outcome == AuditOutcome::success && !r.patient.empty();
  const bool refused = r.outcome == AuditOutcome::minor_failure;
  const bool emergency = r.emergency && r.outcome == AuditOutcome::success;
  if (!emergency && (r.user.empty() || (!read && !refused))) return;
  std::lock_guard lk(mu_);
  if (emergency) {
    emergencies_.push_back(now);
    while (emergencies_.size() > kMaxEventsPerUser) emergencies_.pop_front();
  }
  if (r.user.empty() || (!read && !refused)) return;
  if (users_.size() >= kMaxUsers && users_.find(r.user) == users_.end()) evict_one();
  UserEvents& u = users_[r.user];
  u.last_seen = now;
  prune(u, now - horizon_);
  if (read) {
    const auto p = pseudonyms_->derive(r.patient);
    u.reads.emplace_back(now, p);
    ++u.patients[p];
    while (u.reads.size() > kMaxEventsPerUser) drop_oldest_read(u);
  }
  if (refused) {
    u.refusals.push_back(now);
    while (u.refusals.size() > kMaxEventsPerUser) u.refusals.pop_front();
  }
}

std::vector<Anomaly> AccessWatch::anomalies(const AccessWatchRules& rules, Clock::time_point now) {
  std::vector<Anomaly> out;
  const auto since = now - rules.window;
  std::lock_guard lk(mu_);
  horizon_ = std::max(horizon_, rules.window);
  for (auto it = users_.begin(); it != users_.end();) {
    UserEvents& u = it->second;
    prune(u, since);
    if (rules.patients_per_user > 0 && u.patients.size() > rules.patients_per_user) {
      out.push_back({"access_many_patients", it->first, u.patients.size(), rules.patients_per_user});
    }
    if (rules.refusals_per_user > 0 && u.refusals.size() > rules.refusals_per_user) {
      out.push_back({"access_many_refusals", it->first, u.refusals.size(), rules.refusals_per_user});
    }
    if (u.reads.empty() && u.refusals.empty()) {
      it = users_.erase(it);
    } else {
      ++it;
    }
  }
  while (!emergencies_.empty() && emergencies_.front() < since) emergencies_.pop_front();
  if (rules.emergency_accesses > 0 && emergencies_.size() > rules.emergency_accesses) {
    out.push_back({"access_emergency_burst", "", emergencies_.size(), rules.emergency_accesses});
  }
  return out;
}

}  // namespace hiegate::daemon
