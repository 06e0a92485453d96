#include "hiegate/daemon/gateway.hpp"

#include "hiegate/daemon/access_watch.hpp"
#include "hiegate/daemon/audit.hpp"
#include "hiegate/daemon/directive_service.hpp"

namespace hiegate::daemon {

policy::OperatingMode Gateway::mode() const {
  if (directives != nullptr) return directives->mode(config()->network.facility, clock());
  policy::OperatingMode m;
  m.allowed = policy::FunctionSet::all();
  return m;
}

bool Gateway::disaster_for(std::string_view requester) const {
  if (mode().orders.disaster) return true;
  if (directives == nullptr || requester.empty()) return false;
  return directives->mode(requester, clock()).orders.disaster;
}

void Gateway::audited(AuditRecord record, std::function<void(Status)> then) const {
  if (record.facility.empty()) record.facility = config()->network.facility;
  if (watch != nullptr) watch->observe(record, std::chrono::system_clock::now());
  if (audit == nullptr) return then(make_error("audit_unavailable", "the audit trail is not open"));
  audit->append(std::move(record), std::move(then));
}

namespace {
policy::RoleSet roles_of(const std::vector<std::string>& names) {
  policy::RoleSet s;
  for (const auto& n : names) {
    if (auto r = policy::parse_role(n)) s.insert(*r);
  }
  return s;
}

policy::EmergencyRules emergency_of(const Config::Policy::Emergency& e) {
  policy::EmergencyRules r;
  r.reason_min_chars = e.reason_min_chars;
  r.roles = roles_of(e.roles);
  r.document_types = e.document_types;
  r.window = std::chrono::duration_cast<std::chrono::seconds>(e.window);
  return r;
}
}  // namespace

policy::SharingRules sharing_rules(const Config& cfg) {
  policy::SharingRules r;
  r.view_roles = roles_of(cfg.policy.view_roles);
  r.consent_validity_years = static_cast<int>(cfg.policy.consent_validity_years);
  r.emergency = emergency_of(cfg.policy.emergency);
  r.disaster = emergency_of(cfg.policy.disaster);
  return r;
}

}  // namespace hiegate::daemon
