// GET /v1/audit/report on a real hiegated: consent administration is
// audited, reports are for admin users only, they return exactly the
// expected accesses, and the report itself (allowed or refused) is audited.
// A configuration reload leaves a record too.
#include <gtest/gtest.h>

#include <csignal>
#include <nlohmann/json.hpp>

#include "integration/gateway.hpp"

namespace hiegate::test {
namespace {

using nlohmann::json;

std::vector<std::string> types(const json& report) {
  std::vector<std::string> out;
  for (const auto& r : report["records"]) out.push_back(r["type"]);
  return out;
}

TEST(AuditApi, ReportsForAdminsOnlyAndThemselvesAudited) {
  Gateway gw;
  gw.start();
  for (const auto& [id, role] : std::vector<std::pair<std::string, std::string>>{{"admin-1", "admin"},
                                                                                  {"doc-1", "physician"}}) {
    ASSERT_EQ(gw.call("PUT", "/v1/users/" + id, {{"X-HIE-User", "admin-1"}}, json{{"role", role}}.dump()).status,
              200);
  }
  const json consent = {{"signed_on", "2026-04-01"}, {"scope", "*"}, {"form_ref", "F-1"}};
  ASSERT_EQ(gw.call("PUT", "/v1/consents/P-1", {{"X-HIE-User", "doc-1"}}, consent.dump()).status, 200);
  ASSERT_EQ(gw.call("GET", "/v1/consents/P-1", {{"X-HIE-User", "doc-1"}}).status, 200);
  ASSERT_EQ(gw.call("PUT", "/v1/consents/P-2", {{"X-HIE-User", "doc-1"}}, consent.dump()).status, 200);

  // Not an admin: refused, and that attempt is recorded against the patient.
  const auto refused = gw.call("GET", "/v1/audit/report?patient=P-1", {{"X-HIE-User", "doc-1"}});
  EXPECT_EQ(refused.status, 403) << refused.body;
  EXPECT_NE(refused.body.find("role_not_allowed"), std::string::npos);
  EXPECT_EQ(gw.call("GET", "/v1/audit/report", {{"X-HIE-User", "admin-1"}}).status, 400);
  EXPECT_EQ(gw.call("GET", "/v1/audit/report?patient=P-1&from=yesterday", {{"X-HIE-User", "admin-1"}}).status, 400);

  const auto by_patient = gw.call("GET", "/v1/audit/report?patient=P-1", {{"X-HIE-User", "admin-1"}});
  ASSERT_EQ(by_patient.status, 200) << by_patient.body;
  const auto j = json::parse(by_patient.body);
  EXPECT_EQ(types(j), (std::vector<std::string>{"consent_register", "consent_read", "audit_report"}));
  EXPECT_EQ(j["records"][0]["agent"]["who"], "1312345678/doc-1");
  EXPECT_EQ(j["records"][0]["entity"]["patient"], "P-1");
  EXPECT_EQ(j["records"][2]["outcome"], 4);
  EXPECT_EQ(j["records"][2]["outcome_desc"], "role_not_allowed");
  EXPECT_EQ(j["truncated"], false);

  // By user: everything doc-1 did (three consent acts and the refused report).
  const auto by_user = gw.call("GET", "/v1/audit/report?user=doc-1", {{"X-HIE-User", "admin-1"}});
  ASSERT_EQ(by_user.status, 200) << by_user.body;
  EXPECT_EQ(types(json::parse(by_user.body)),
            (std::vector<std::string>{"consent_register", "consent_read", "consent_register", "audit_report"}));
  // The admin's own reports are recorded too; the user changes as well.
  const auto by_admin = gw.call("GET", "/v1/audit/report?user=admin-1&limit=3", {{"X-HIE-User", "admin-1"}});
  ASSERT_EQ(by_admin.status, 200) << by_admin.body;
  const auto a = json::parse(by_admin.body);
  EXPECT_EQ(types(a), (std::vector<std::string>{"user_update", "user_update", "audit_report"}));
  EXPECT_EQ(a["truncated"], true);

  // A reload is recorded as the daemon's own act.
  gw.process().signal(SIGHUP);
  ASSERT_TRUE(eventually([&] {
    const auto r = gw.call("GET", "/v1/audit/report?user=hiegated", {{"X-HIE-User", "admin-1"}});
    return r.status == 200 && r.body.find("config_reload") != std::string::npos;
  }));
}

}  // namespace
}  // namespace hiegate::test
