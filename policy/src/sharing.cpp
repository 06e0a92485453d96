#include "hiegate/policy/sharing.hpp"

#include <algorithm>

namespace hiegate::policy {

using namespace std::chrono;

std::string_view name(Purpose p) noexcept {
  return p == Purpose::emergency ? "emergency" : "treatment";
}

std::optional<Purpose> parse_purpose(std::string_view s) noexcept {
  if (s == "treatment") return Purpose::treatment;
  if (s == "emergency") return Purpose::emergency;
  return std::nullopt;
}

namespace {

std::size_t code_points(std::string_view s) {
  std::size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

// Whitespace-only reasons do not count as written reasons.
std::size_t meaningful_code_points(std::string_view s) {
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return 0;
  const auto last = s.find_last_not_of(" \t\r\n");
  return code_points(s.substr(first, last - first + 1));
}

Decision function_refused(Function f) {
  return Decision::refuse("mode." + std::string(name(f)), "function_restricted",
                          "事務局の指示により、この機能は現在利用できません",
                          "This function is currently restricted by the secretariat");
}

/// Break-glass preconditions shared by the requesting and the disclosing
/// side: an allowed role and a written reason of the minimum length.
/// `window_ended`: the user had a window for this patient that has ended.
std::optional<Decision> emergency_role_refusal(Role role, bool disaster, const SharingRules& rules) {
  const EmergencyRules& er = disaster ? rules.disaster : rules.emergency;
  if (er.roles.contains(role) || (disaster && rules.emergency.roles.contains(role))) return std::nullopt;
  return Decision::refuse(disaster ? "emergency.disaster.roles" : "emergency.roles", "role_not_allowed",
                          "この職種には緊急時閲覧が許可されていません", "This role may not use emergency access");
}

std::optional<Decision> emergency_refusal(Role role, std::string_view reason, bool disaster,
                                          const SharingRules& rules, bool window_ended = false) {
  const EmergencyRules& er = disaster ? rules.disaster : rules.emergency;
  const std::string rule = disaster ? "emergency.disaster" : "emergency";
  if (auto refused = emergency_role_refusal(role, disaster, rules)) return refused;
  const std::size_t n = meaningful_code_points(reason);
  if (n == 0) {
    if (window_ended) {
      return Decision::refuse(rule + ".window", "emergency_window_expired",
                              "緊急時閲覧の期間が終了しました。理由を記入して再度申請してください",
                              "The emergency access window has ended; give a reason to open a new one");
    }
    return Decision::refuse(rule + ".reason", "emergency_reason_required", "緊急時閲覧には理由の記入が必要です",
                            "Emergency access needs a written reason");
  }
  if (n < er.reason_min_chars) {
    return Decision::refuse(rule + ".reason", "emergency_reason_too_short", "緊急時閲覧の理由が短すぎます",
                            "The emergency reason is too short");
  }
  return std::nullopt;
}

}  // namespace

sys_days consent_expires(const Consent& c, int years) {
  const year_month_day end = c.signed_on + std::chrono::years(years);
  if (end.ok()) return sys_days{end};
  // 29 February plus whole years in a common year: the day after 28 February.
  return sys_days{end.year() / end.month() / day(28)} + days(1);
}

Decision decide_user(const UserRecord* user, bool suspended_by_order) {
  if (user == nullptr) {
    return Decision::refuse("users.registered", "unknown_user", "登録されていない利用者です",
                            "The user is not registered at this gateway");
  }
  if (!user->active) {
    return Decision::refuse("users.active", "user_suspended", "この利用者は利用停止中です",
                            "The user is inactive");
  }
  if (suspended_by_order) {
    return Decision::refuse("users.suspended_by_order", "user_suspended",
                            "事務局の指示により、この利用者は利用停止中です",
                            "The user is suspended by the secretariat");
  }
  return Decision::allow("users.registered");
}

Decision decide_view(const UserRecord& user, std::string_view purpose, FunctionSet allowed,
                     const SharingRules& rules) {
  const auto p = parse_purpose(purpose);
  if (!p) {
    return Decision::refuse("purpose.known", "invalid_purpose",
                            "利用目的は treatment か emergency を指定してください",
                            "The purpose must be treatment or emergency");
  }
  if (*p == Purpose::emergency) return Decision::allow("purpose.emergency");
  if (!allowed.contains(Function::view)) return function_refused(Function::view);
  if (!rules.view_roles.contains(user.role)) {
    return Decision::refuse("roles.view", "role_not_allowed", "この職種には閲覧が許可されていません",
                            "This role may not view other facilities' records");
  }
  return Decision::allow("roles.view");
}

Decision decide_document_patient(std::string_view named, std::string_view actual) {
  if (named.empty() || named == actual) return Decision::allow("fetch.patient");
  return Decision::refuse("fetch.patient", "patient_mismatch", "この文書は指定された患者の文書ではありません",
                          "This document belongs to another patient than the one named");
}

EmergencyCheck decide_emergency(Role role, std::string_view reason,
                                const std::optional<EmergencyWindow>& open, TimePoint now,
                                FunctionSet allowed, bool disaster, const SharingRules& rules) {
  const EmergencyRules& er = disaster ? rules.disaster : rules.emergency;
  const std::string rule = disaster ? "emergency.disaster" : "emergency";
  EmergencyCheck out;
  if (!allowed.contains(Function::emergency)) {
    out.decision = function_refused(Function::emergency);
    return out;
  }
  const bool window_open = open && now >= open->opened_at && now < open->expires_at;
  if (window_open) {
    // The reason was given when the window opened: only the role is checked
    // again (an order may have changed the rules meanwhile).
    if (auto refused = emergency_role_refusal(role, disaster, rules)) {
      out.decision = std::move(*refused);
      return out;
    }
    out.decision = Decision::allow(rule + ".window_open");
    out.window_expires = open->expires_at;
    return out;
  }
  if (auto refused = emergency_refusal(role, reason, disaster, rules, open.has_value())) {
    out.decision = std::move(*refused);
    return out;
  }
  out.decision = Decision::allow(rule + ".reason");
  out.opens_window = true;
  out.window_expires = now + duration_cast<seconds>(er.window);
  return out;
}

Decision decide_consent(const Consent* consent, std::string_view requester_facility, TimePoint now,
                        const SharingRules& rules) {
  auto standing = consent_standing(consent, now, rules);
  if (!standing) return standing;
  if (!consent->all_facilities &&
      std::find(consent->facilities.begin(), consent->facilities.end(), requester_facility) ==
          consent->facilities.end()) {
    return Decision::refuse("consent.scope", "consent_scope",
                            "この施設は患者の同意の範囲に含まれていません",
                            "The requesting facility is outside the scope of the patient's consent");
  }
  return standing;
}

Decision consent_standing(const Consent* consent, TimePoint now, const SharingRules& rules) {
  if (consent == nullptr) {
    return Decision::refuse("consent.exists", "consent_missing", "この患者の同意が登録されていません",
                            "No consent is registered for this patient");
  }
  if (consent->withdrawn_at && *consent->withdrawn_at <= now) {
    return Decision::refuse("consent.withdrawn", "consent_withdrawn", "この患者の同意は撤回されています",
                            "The patient has withdrawn consent");
  }
  const sys_days today = floor<days>(now);
  if (today < sys_days{consent->signed_on}) {
    return Decision::refuse("consent.valid", "consent_not_yet_valid",
                            "同意の署名日が未来の日付です", "The consent's signing date is in the future");
  }
  if (today >= consent_expires(*consent, rules.consent_validity_years)) {
    return Decision::refuse("consent.valid", "consent_expired",
                            "同意の有効期間(署名日から5年)が過ぎています。更新が必要です",
                            "The consent has expired (valid for 5 years from signing); it must be renewed");
  }
  return Decision::allow("consent.valid");
}

DisclosureDecision decide_disclosure(const DisclosureRequest& req, const Consent* consent,
                                     TimePoint now, FunctionSet allowed, bool disaster,
                                     const SharingRules& rules) {
  DisclosureDecision out;
  if (!allowed.contains(Function::serve)) {
    out.decision = function_refused(Function::serve);
    return out;
  }
  if (req.requester_suspended) {
    out.decision = Decision::refuse("users.suspended_by_order", "user_suspended",
                                    "事務局の指示により、この利用者または施設は利用停止中です",
                                    "The requesting user or facility is suspended by the secretariat");
    return out;
  }
  if (req.purpose == Purpose::treatment) {
    if (!rules.view_roles.contains(req.role)) {
      out.decision = Decision::refuse("roles.view", "role_not_allowed",
                                      "この職種には閲覧が許可されていません",
                                      "This role may not view other facilities' records");
      return out;
    }
    out.decision = decide_consent(consent, req.requester_facility, now, rules);
    return out;
  }
  // Emergency: consent if there is a valid one, else break-glass rules.
  if (Decision c = decide_consent(consent, req.requester_facility, now, rules); c.allowed) {
    out.decision = std::move(c);
    return out;
  }
  const std::string rule = disaster ? "emergency.disaster" : "emergency";
  if (auto refused = emergency_refusal(req.role, req.reason, disaster, rules)) {
    out.decision = std::move(*refused);
    return out;
  }
  out.decision = Decision::allow(rule + ".no_consent");
  out.emergency = true;
  return out;
}

bool emergency_type_allowed(std::string_view document_type, bool disaster,
                            const SharingRules& rules) {
  auto in = [&](const std::vector<std::string>& types) {
    return std::any_of(types.begin(), types.end(),
                       [&](const std::string& t) { return t == "*" || t == document_type; });
  };
  return in(rules.emergency.document_types) || (disaster && in(rules.disaster.document_types));
}

}  // namespace hiegate::policy
