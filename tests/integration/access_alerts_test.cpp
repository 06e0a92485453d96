// Access anomalies on a real hiegated ([alerts], 規程 第29条): a user who
// reads more patients than the threshold within the window raises an alert
// (journald alert_raised, ALERT=access_many_patients, USER=…) and shows in
// /v1/status; the log names the user, never a patient.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "hiegate/crypto/encoding.hpp"
#include "integration/gateway.hpp"

namespace hiegate::test {
namespace {

using nlohmann::json;

int alert_lines(const Gateway& gw, const std::string& event, const std::string& name, const std::string& user) {
  std::istringstream in(gw.log());
  int n = 0;
  for (std::string line; std::getline(in, line);) {
    n += line.find(event + ": ") != std::string::npos && line.find("ALERT=\"" + name + "\"") != std::string::npos &&
         line.find("USER=\"" + user + "\"") != std::string::npos;
  }
  return n;
}

TEST(AccessAlerts, AUserReadingManyPatientsRaisesAnAlert) {
  Gateway gw("", "[alerts]\npatients_per_user = 2\nrefusals_per_user = 0\nemergency_accesses = 0\n");
  gw.start();
  ASSERT_EQ(gw.put_user("clerk-1", R"({"role":"clerk"})").status, 200);
  ASSERT_EQ(gw.put_user("dr-ito", R"({"role":"physician"})").status, 200);
  for (const char* p : {"NT-7001", "NT-7002", "NT-7003"}) {
    const json doc = {{"patient", p},
                      {"type", "summary"},
                      {"created", "2026-11-20T10:00:00Z"},
                      {"content_type", "text/plain"},
                      {"content_base64", crypto::to_base64(crypto::as_bytes(std::string("note")))}};
    ASSERT_EQ(gw.call("PUT", std::string("/v1/documents/d-") + p, {{"X-HIE-User", "clerk-1"}}, doc.dump()).status,
              200);
  }
  const std::string who = gw.facility() + "/dr-ito";
  // Two patients: at the threshold, no alert; the same one again: still two.
  for (const char* p : {"NT-7001", "NT-7002", "NT-7002"}) {
    ASSERT_EQ(gw.call("GET", std::string("/v1/documents/d-") + p, {{"X-HIE-User", "dr-ito"}}).status, 200);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));  // the alerts are checked every second
  EXPECT_EQ(alert_lines(gw, "alert_raised", "access_many_patients", who), 0) << gw.log();

  ASSERT_EQ(gw.call("GET", "/v1/documents/d-NT-7003", {{"X-HIE-User", "dr-ito"}}).status, 200);
  ASSERT_TRUE(eventually([&] { return alert_lines(gw, "alert_raised", "access_many_patients", who) == 1; }))
      << gw.log();
  json alerts;
  ASSERT_TRUE(eventually([&] {
    alerts = json::parse(gw.get("/v1/status").body)["alerts"];
    return !alerts.empty();
  }));
  ASSERT_EQ(alerts.size(), 1U) << alerts.dump();
  EXPECT_EQ(alerts[0]["alert"], "access_many_patients");
  EXPECT_EQ(alerts[0]["user"], who);
  EXPECT_EQ(alerts[0]["count"], 3);
  EXPECT_EQ(alerts[0]["threshold"], 2);
  // Raised once, not at every check; the clerk who published is not named.
  EXPECT_EQ(alert_lines(gw, "alert_raised", "access_many_patients", who), 1);
  EXPECT_EQ(gw.log().find("clerk-1\""), std::string::npos);
  for (const char* p : {"NT-7001", "NT-7002", "NT-7003"}) EXPECT_EQ(gw.log().find(p), std::string::npos) << p;
}

}  // namespace
}  // namespace hiegate::test
