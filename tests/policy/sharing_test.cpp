// Table-driven tests of the clinical sharing rules, one row per case.
#include "hiegate/policy/sharing.hpp"

#include <gtest/gtest.h>

namespace hiegate::policy {
namespace {

using namespace std::chrono;

constexpr sys_days kToday = 2026y / November / 21;
const TimePoint kNow = TimePoint{kToday} + hours(9);
constexpr const char* kThisFacility = "1312345678";
constexpr const char* kPeer = "1319999999";

Consent signed_days_ago(int d) {
  Consent c;
  c.signed_on = year_month_day{kToday - days(d)};
  c.all_facilities = true;
  return c;
}

Consent signed_on(year_month_day ymd) {
  Consent c;
  c.signed_on = ymd;
  c.all_facilities = true;
  return c;
}

struct ConsentCase {
  const char* name;
  std::optional<Consent> consent;
  std::string requester;
  const char* expect_code;  // "" = allowed
};

void PrintTo(const ConsentCase& c, std::ostream* os) { *os << c.name; }

class ConsentRule : public ::testing::TestWithParam<ConsentCase> {};

TEST_P(ConsentRule, Decides) {
  const auto& c = GetParam();
  const SharingRules rules;
  const Decision d = decide_consent(c.consent ? &*c.consent : nullptr, c.requester, kNow, rules);
  EXPECT_EQ(d.code, c.expect_code);
  EXPECT_EQ(d.allowed, std::string(c.expect_code).empty());
  EXPECT_FALSE(d.rule.empty());
  if (!d.allowed) {
    EXPECT_FALSE(d.message_ja.empty());
    EXPECT_FALSE(d.message_en.empty());
  }
}

Consent scoped(std::vector<std::string> f) {
  Consent c = signed_days_ago(100);
  c.all_facilities = false;
  c.facilities = std::move(f);
  return c;
}

Consent withdrawn(TimePoint at) {
  Consent c = signed_days_ago(100);
  c.withdrawn_at = at;
  return c;
}

INSTANTIATE_TEST_SUITE_P(
    Table, ConsentRule,
    ::testing::Values(
        ConsentCase{"none", std::nullopt, kPeer, "consent_missing"},
        ConsentCase{"signed_today", signed_days_ago(0), kPeer, ""},
        // 5 years from 2021-11-22 is 2026-11-22: still valid today (4y364d).
        ConsentCase{"4y364d", signed_on(2021y / November / 22), kPeer, ""},
        // Signed 2021-11-21: the 5 years ended at the start of today.
        ConsentCase{"exactly_5y", signed_on(2021y / November / 21), kPeer, "consent_expired"},
        ConsentCase{"5y1d", signed_on(2021y / November / 20), kPeer, "consent_expired"},
        ConsentCase{"future_signing", signed_on(2026y / November / 22), kPeer, "consent_not_yet_valid"},
        ConsentCase{"scope_lists_requester", scoped({"1311111111", kPeer}), kPeer, ""},
        ConsentCase{"scope_excludes_requester", scoped({"1311111111"}), kPeer, "consent_scope"},
        ConsentCase{"scope_empty_list", scoped({}), kPeer, "consent_scope"},
        ConsentCase{"withdrawn_before", withdrawn(kNow - hours(1)), kPeer, "consent_withdrawn"},
        ConsentCase{"withdrawn_now", withdrawn(kNow), kPeer, "consent_withdrawn"},
        ConsentCase{"withdrawal_later", withdrawn(kNow + hours(1)), kPeer, ""}),
    [](const ::testing::TestParamInfo<ConsentCase>& c) { return std::string(c.param.name); });

TEST(ConsentExpiry, LeapDaySigningEndsOnFirstMarch) {
  EXPECT_EQ(consent_expires(signed_on(2024y / February / 29), 5), sys_days{2029y / March / 1});
  EXPECT_EQ(consent_expires(signed_on(2024y / February / 29), 4), sys_days{2028y / February / 29});
  EXPECT_EQ(consent_expires(signed_on(2021y / November / 22), 5), sys_days{2026y / November / 22});
}

TEST(Users, RegisteredActiveNotSuspended) {
  UserRecord u{"dr-sato", Role::physician, "internal", true};
  EXPECT_TRUE(decide_user(&u, false).allowed);
  EXPECT_EQ(decide_user(nullptr, false).code, "unknown_user");
  EXPECT_EQ(decide_user(&u, true).code, "user_suspended");
  EXPECT_EQ(decide_user(&u, true).rule, "users.suspended_by_order");
  u.active = false;
  EXPECT_EQ(decide_user(&u, false).code, "user_suspended");
  EXPECT_EQ(decide_user(&u, false).rule, "users.active");
}

struct ViewCase {
  Role role;
  const char* purpose;
  FunctionSet allowed;
  const char* expect_code;
};

TEST(View, EachRoleAndPurpose) {
  const SharingRules rules;
  const FunctionSet no_view = FunctionSet::all().erase(Function::view);
  const std::vector<ViewCase> table = {
      {Role::physician, "treatment", FunctionSet::all(), ""},
      {Role::nurse, "treatment", FunctionSet::all(), ""},
      {Role::pharmacist, "treatment", FunctionSet::all(), ""},
      {Role::technician, "treatment", FunctionSet::all(), ""},
      {Role::clerk, "treatment", FunctionSet::all(), "role_not_allowed"},
      {Role::approver, "treatment", FunctionSet::all(), "role_not_allowed"},
      {Role::admin, "treatment", FunctionSet::all(), "role_not_allowed"},
      {Role::physician, "research", FunctionSet::all(), "invalid_purpose"},
      {Role::physician, "", FunctionSet::all(), "invalid_purpose"},
      {Role::physician, "Treatment", FunctionSet::all(), "invalid_purpose"},
      {Role::physician, "treatment", no_view, "function_restricted"},
      {Role::physician, "emergency", no_view, ""},  // decided by decide_emergency
  };
  for (const auto& c : table) {
    const UserRecord u{"u", c.role, "d", true};
    const Decision d = decide_view(u, c.purpose, c.allowed, rules);
    EXPECT_EQ(d.code, c.expect_code) << name(c.role) << " " << c.purpose;
  }
}

struct EmergencyCase {
  const char* name;
  Role role;
  std::string reason;
  std::optional<EmergencyWindow> open;
  bool disaster;
  FunctionSet allowed;
  const char* expect_code;
  bool opens;
};

void PrintTo(const EmergencyCase& c, std::ostream* os) { *os << c.name; }
class EmergencyRule : public ::testing::TestWithParam<EmergencyCase> {};

TEST_P(EmergencyRule, Decides) {
  const auto& c = GetParam();
  const SharingRules rules;
  const EmergencyCheck e = decide_emergency(c.role, c.reason, c.open, kNow, c.allowed, c.disaster, rules);
  EXPECT_EQ(e.decision.code, c.expect_code);
  EXPECT_EQ(e.opens_window, c.opens);
  if (c.opens) {
    EXPECT_EQ(e.window_expires, kNow + (c.disaster ? hours(72) : hours(24)));
  }
}

const std::string kReason = "意識障害で救急搬送、既往歴の確認が必要";  // 19 code points
const EmergencyWindow kOpen{kNow - hours(2), kNow + hours(22)};
const EmergencyWindow kExpired{kNow - hours(30), kNow - hours(6)};

INSTANTIATE_TEST_SUITE_P(
    Table, EmergencyRule,
    ::testing::Values(
        EmergencyCase{"physician_reason", Role::physician, kReason, std::nullopt, false, FunctionSet::all(), "", true},
        EmergencyCase{"nurse_reason", Role::nurse, kReason, std::nullopt, false, FunctionSet::all(), "", true},
        EmergencyCase{"no_reason", Role::physician, "", std::nullopt, false, FunctionSet::all(), "emergency_reason_required", false},
        EmergencyCase{"blank_reason", Role::physician, "   \n ", std::nullopt, false, FunctionSet::all(), "emergency_reason_required", false},
        EmergencyCase{"short_reason", Role::physician, "救急", std::nullopt, false, FunctionSet::all(), "emergency_reason_too_short", false},
        EmergencyCase{"minimum_ten_code_points", Role::physician, "救急搬送で既往確認要", std::nullopt, false, FunctionSet::all(), "", true},
        EmergencyCase{"pharmacist_not_allowed", Role::pharmacist, kReason, std::nullopt, false, FunctionSet::all(), "role_not_allowed", false},
        EmergencyCase{"clerk_not_allowed", Role::clerk, kReason, std::nullopt, false, FunctionSet::all(), "role_not_allowed", false},
        EmergencyCase{"open_window_no_reason", Role::physician, "", kOpen, false, FunctionSet::all(), "", false},
        EmergencyCase{"expired_window_no_reason", Role::physician, "", kExpired, false, FunctionSet::all(), "emergency_window_expired", false},
        EmergencyCase{"expired_window_new_reason", Role::physician, kReason, kExpired, false, FunctionSet::all(), "", true},
        EmergencyCase{"restricted", Role::physician, kReason, std::nullopt, false, FunctionSet::all().erase(Function::emergency), "function_restricted", false},
        EmergencyCase{"disaster_widens_roles", Role::pharmacist, kReason, std::nullopt, true, FunctionSet::all(), "", true},
        EmergencyCase{"disaster_clerk_still_no", Role::clerk, kReason, std::nullopt, true, FunctionSet::all(), "role_not_allowed", false}),
    [](const ::testing::TestParamInfo<EmergencyCase>& c) { return std::string(c.param.name); });

// The reason was checked when the window opened: a minimum length above any
// placeholder text still lets the window serve (and a role taken away still
// closes it).
TEST(EmergencyRule, AnOpenWindowNeedsNoReasonWhateverTheMinimumLength) {
  SharingRules rules;
  rules.emergency.reason_min_chars = 200;
  const auto e = decide_emergency(Role::physician, "", kOpen, kNow, FunctionSet::all(), false, rules);
  EXPECT_TRUE(e.decision.allowed) << e.decision.code;
  EXPECT_EQ(e.decision.rule, "emergency.window_open");
  EXPECT_FALSE(e.opens_window);
  EXPECT_EQ(e.window_expires, kOpen.expires_at);
  rules.emergency.roles = {Role::nurse};
  EXPECT_EQ(decide_emergency(Role::physician, "", kOpen, kNow, FunctionSet::all(), false, rules).decision.code,
            "role_not_allowed");
}

TEST(DocumentPatient, AFetchThatNamesItsPatientGetsOnlyThatPatientsDocuments) {
  struct Row {
    const char* named;
    const char* actual;
    const char* code;
  };
  for (const Row r : {Row{"", "NT-0001", ""}, Row{"", "", ""}, Row{"NT-0001", "NT-0001", ""},
                      Row{"NT-0001", "NT-0009", "patient_mismatch"}, Row{"NT-0001", "", "patient_mismatch"},
                      Row{"NT-0001", "nt-0001", "patient_mismatch"}}) {
    const Decision d = decide_document_patient(r.named, r.actual);
    EXPECT_EQ(d.code, r.code) << r.named << " / " << r.actual;
    EXPECT_EQ(d.allowed, std::string(r.code).empty());
    EXPECT_EQ(d.rule, "fetch.patient");
  }
}

TEST(EmergencyTypes, OnlyListedTypesUnlessDisaster) {
  const SharingRules rules;
  EXPECT_TRUE(emergency_type_allowed("allergy", false, rules));
  EXPECT_TRUE(emergency_type_allowed("medication", false, rules));
  EXPECT_FALSE(emergency_type_allowed("imaging_report", false, rules));
  EXPECT_TRUE(emergency_type_allowed("imaging_report", true, rules));  // disaster: "*"
}

struct DisclosureCase {
  const char* name;
  DisclosureRequest req;
  std::optional<Consent> consent;
  bool disaster;
  FunctionSet allowed;
  const char* expect_code;
  bool emergency;
};
void PrintTo(const DisclosureCase& c, std::ostream* os) { *os << c.name; }
class DisclosureRule : public ::testing::TestWithParam<DisclosureCase> {};

TEST_P(DisclosureRule, Decides) {
  const auto& c = GetParam();
  const SharingRules rules;
  const auto d = decide_disclosure(c.req, c.consent ? &*c.consent : nullptr, kNow, c.allowed,
                                   c.disaster, rules);
  EXPECT_EQ(d.decision.code, c.expect_code);
  EXPECT_EQ(d.emergency, c.emergency);
}

DisclosureRequest treat(Role r = Role::physician) { return {kPeer, r, Purpose::treatment, "", false}; }
DisclosureRequest emerg(Role r = Role::physician, std::string reason = kReason) {
  return {kPeer, r, Purpose::emergency, std::move(reason), false};
}

INSTANTIATE_TEST_SUITE_P(
    Table, DisclosureRule,
    ::testing::Values(
        DisclosureCase{"consent_treatment", treat(), signed_days_ago(10), false, FunctionSet::all(), "", false},
        DisclosureCase{"no_consent_treatment", treat(), std::nullopt, false, FunctionSet::all(), "consent_missing", false},
        DisclosureCase{"expired_treatment", treat(), signed_on(2021y / November / 20), false, FunctionSet::all(), "consent_expired", false},
        DisclosureCase{"clerk_treatment", treat(Role::clerk), signed_days_ago(10), false, FunctionSet::all(), "role_not_allowed", false},
        DisclosureCase{"serve_restricted", treat(), signed_days_ago(10), false, FunctionSet::all().erase(Function::serve), "function_restricted", false},
        DisclosureCase{"suspended_requester", DisclosureRequest{kPeer, Role::physician, Purpose::treatment, "", true}, signed_days_ago(10), false, FunctionSet::all(), "user_suspended", false},
        DisclosureCase{"emergency_with_consent_is_consent", emerg(), signed_days_ago(10), false, FunctionSet::all(), "", false},
        DisclosureCase{"emergency_no_consent", emerg(), std::nullopt, false, FunctionSet::all(), "", true},
        DisclosureCase{"emergency_withdrawn_consent", emerg(), withdrawn(kNow - hours(1)), false, FunctionSet::all(), "", true},
        DisclosureCase{"emergency_no_reason", emerg(Role::physician, ""), std::nullopt, false, FunctionSet::all(), "emergency_reason_required", false},
        DisclosureCase{"emergency_short_reason", emerg(Role::physician, "急ぎ"), std::nullopt, false, FunctionSet::all(), "emergency_reason_too_short", false},
        DisclosureCase{"emergency_pharmacist", emerg(Role::pharmacist), std::nullopt, false, FunctionSet::all(), "role_not_allowed", false},
        DisclosureCase{"disaster_pharmacist", emerg(Role::pharmacist), std::nullopt, true, FunctionSet::all(), "", true}),
    [](const ::testing::TestParamInfo<DisclosureCase>& c) { return std::string(c.param.name); });

TEST(Identifiers, PatientAndLocalIds) {
  EXPECT_TRUE(is_patient_id("NT-0001234"));
  EXPECT_TRUE(is_patient_id(std::string(64, 'a')));
  EXPECT_FALSE(is_patient_id(std::string(65, 'a')));
  EXPECT_FALSE(is_patient_id(""));
  EXPECT_FALSE(is_patient_id("../etc/passwd"));
  EXPECT_FALSE(is_patient_id("a/b"));
  EXPECT_FALSE(is_patient_id("山田"));
  EXPECT_TRUE(is_local_id("doc-1.v2_x"));
  EXPECT_FALSE(is_local_id(".."));
  EXPECT_FALSE(is_local_id("."));
  EXPECT_FALSE(is_local_id("a/b"));
  EXPECT_FALSE(is_local_id("a b"));
}

TEST(Roles, NamesRoundTrip) {
  for (Role r : kAllRoles) EXPECT_EQ(parse_role(name(r)), r);
  EXPECT_FALSE(parse_role("doctor"));
  RoleSet s{Role::nurse};
  EXPECT_TRUE(s.contains(Role::nurse));
  EXPECT_FALSE(s.contains(Role::physician));
  EXPECT_TRUE(s.unite(RoleSet{Role::physician}).contains(Role::physician));
}

}  // namespace
}  // namespace hiegate::policy
