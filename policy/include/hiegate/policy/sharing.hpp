// Clinical sharing rules (利用規程 第3・6・7・8・9・11条) as pure decisions.
//
// Requesting side: is the user registered and active, is the purpose valid,
// may this role view, is a break-glass window open. Disclosing side: does the
// patient's consent at *this* facility cover the requester, or does
// emergency access apply, and for which document types.
//
// No I/O: the caller passes the records and the clock. Every decision names
// the rule that decided; refusals carry stable codes. Fail closed: anything
// not explicitly allowed is refused.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hiegate/policy/actor.hpp"
#include "hiegate/policy/decision.hpp"
#include "hiegate/policy/functions.hpp"
#include "hiegate/policy/roles.hpp"

namespace hiegate::policy {

using TimePoint = std::chrono::sys_seconds;

enum class Purpose : std::uint8_t { treatment, emergency };
[[nodiscard]] std::string_view name(Purpose p) noexcept;
[[nodiscard]] std::optional<Purpose> parse_purpose(std::string_view s) noexcept;

/// A registered user of this facility (利用規程 第3条).
struct UserRecord {
  std::string id;  ///< local user id
  Role role = Role::clerk;
  std::string department;
  bool active = true;
};

/// A patient's consent registered at this facility (利用規程 第7条3・4号).
struct Consent {
  std::chrono::year_month_day signed_on{};
  bool all_facilities = false;          ///< scope "*"
  std::vector<std::string> facilities;  ///< scope list, when not all
  std::optional<TimePoint> withdrawn_at;
};

struct EmergencyRules {
  std::size_t reason_min_chars = 10;  ///< counted in Unicode code points
  RoleSet roles{Role::physician, Role::nurse};
  std::vector<std::string> document_types{"summary", "allergy", "medication", "lab"};
  std::chrono::seconds window{std::chrono::hours(24)};
};

struct SharingRules {
  RoleSet view_roles{Role::physician, Role::nurse, Role::pharmacist, Role::technician};
  int consent_validity_years = 5;
  EmergencyRules emergency;
  EmergencyRules disaster{10, RoleSet{Role::physician, Role::nurse, Role::pharmacist, Role::technician},
                          {"*"}, std::chrono::hours(72)};
};

/// The first day on which the consent is no longer valid: the signing date
/// plus `years` calendar years (29 February + years → 1 March when needed).
[[nodiscard]] std::chrono::sys_days consent_expires(const Consent& c, int years);

/// Requesting side, every clinical request: registered, active, not
/// suspended by a secretariat order.
[[nodiscard]] Decision decide_user(const UserRecord* user, bool suspended_by_order);

/// Requesting side: may this role view other facilities' records at all
/// (treatment), and is the purpose one the network knows.
[[nodiscard]] Decision decide_view(const UserRecord& user, std::string_view purpose,
                                   FunctionSet allowed, const SharingRules& rules);

/// An open break-glass window of one user for one patient.
struct EmergencyWindow {
  TimePoint opened_at;
  TimePoint expires_at;
};

struct EmergencyCheck {
  Decision decision;
  bool opens_window = false;  ///< the caller records a new window [now, now + window)
  TimePoint window_expires{};
};

/// Requesting side, purpose `emergency` (利用規程 第11条): an allowed role,
/// a written reason of the minimum length opening a window per user and
/// patient; within an open window further requests need no new reason. An
/// active `disaster` order widens roles, types and window (第11条2項).
[[nodiscard]] EmergencyCheck decide_emergency(Role role, std::string_view reason,
                                              const std::optional<EmergencyWindow>& open,
                                              TimePoint now, FunctionSet allowed, bool disaster,
                                              const SharingRules& rules);

/// Either side of a document fetch: a fetch that names its patient (an
/// emergency fetch must, its window being per user and patient) is answered
/// only with a document of that patient. `actual` is the document's.
[[nodiscard]] Decision decide_document_patient(std::string_view named, std::string_view actual);

/// What the disclosing facility knows of a request from a peer: the
/// requesting facility from its certificate, the rest from headers.
struct DisclosureRequest {
  std::string requester_facility;
  Role role = Role::clerk;
  Purpose purpose = Purpose::treatment;
  std::string reason;
  bool requester_suspended = false;  ///< user or facility suspended by an order
};

/// Disclosing side (利用規程 第7条): its own consent registry decides. With
/// no valid consent, only emergency access (with its reason, role and
/// types) is allowed. `emergency_types_only` in the result tells the caller
/// to filter documents with `emergency_type_allowed`.
struct DisclosureDecision {
  Decision decision;
  bool emergency = false;  ///< allowed under emergency access, not consent
};
[[nodiscard]] DisclosureDecision decide_disclosure(const DisclosureRequest& req,
                                                   const Consent* consent, TimePoint now,
                                                   FunctionSet allowed, bool disaster,
                                                   const SharingRules& rules);

/// Under emergency access, may a document of this type be disclosed.
[[nodiscard]] bool emergency_type_allowed(std::string_view document_type, bool disaster,
                                          const SharingRules& rules);

/// Consent validity alone (for the renewal worklist and the cache check).
[[nodiscard]] Decision decide_consent(const Consent* consent, std::string_view requester_facility,
                                      TimePoint now, const SharingRules& rules);
/// Whether the patient's consent to the network stands, whoever asks: it
/// exists, is not withdrawn, and is within its validity (decide_consent
/// without the scope).
[[nodiscard]] Decision consent_standing(const Consent* consent, TimePoint now, const SharingRules& rules);


}  // namespace hiegate::policy
