// hiegatectl's online administration as facility IT uses it against a real
// hiegated: users, consents and the secretariat's orders it holds, through
// the daemon's Unix socket with a bearer token.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <sstream>
#include <nlohmann/json.hpp>

#include "hiegate/policy/rfc3339.hpp"
#include "integration/live_orders.hpp"
#include "support/temp_dir.hpp"

namespace hiegate::test {
namespace {

using nlohmann::json;

/// hiegatectl ARGS... against `gw` over its socket, with the test token.
RunResult ctl(const Gateway& gw, std::vector<std::string> args) {
  args.insert(args.begin(), binary("hiegatectl").string());
  args.push_back("--socket");
  args.push_back((gw.dir() / "local.sock").string());
  return run(args, {std::string("HIEGATE_TOKEN=") + kToken});
}

/// The records of the trail naming `user` of `gw`, by event type.
std::vector<std::string> audited_types(const Gateway& gw, const std::string& user) {
  const auto r = gw.call("GET", "/v1/audit/report?user=" + user, {{"X-HIE-User", kAdmin}});
  EXPECT_EQ(r.status, 200) << r.body;
  std::vector<std::string> out;
  const json records = json::parse(r.body, nullptr, false)["records"];
  for (const auto& rec : records) out.push_back(rec.value("type", ""));
  return out;
}

std::string date_days_ago(int days) {
  const auto t = std::chrono::system_clock::now() - std::chrono::days(days);
  return policy::format_rfc3339(std::chrono::time_point_cast<std::chrono::seconds>(t)).substr(0, 10);
}

TEST(HiegatectlAdmin, UsersAreRegisteredListedAndRemovedByAnAdministrator) {
  Gateway gw;
  gw.start();
  // A new gateway: the first admin registers itself.
  auto r = ctl(gw, {"users", "set", kAdmin, "--role", "admin", "--as", kAdmin});
  ASSERT_EQ(r.status, 0) << r.output;
  r = ctl(gw, {"users", "set", "dr-sato", "--role", "physician", "--department", "循環器内科", "--as", kAdmin});
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("dr-sato"), std::string::npos) << r.output;
  ASSERT_EQ(ctl(gw, {"users", "set", "nurse-1", "--role", "nurse", "--inactive", "--as", kAdmin}).status, 0);

  r = ctl(gw, {"users", "list", "--as", kAdmin, "--json"});
  ASSERT_EQ(r.status, 0) << r.output;
  const json all = json::parse(r.output, nullptr, false);
  ASSERT_TRUE(all.is_object()) << r.output;
  ASSERT_EQ(all["users"].size(), 3U) << r.output;
  EXPECT_EQ(all["users"][0]["id"], "dr-sato");  // sorted by id
  EXPECT_EQ(all["users"][0]["department"], "循環器内科");
  EXPECT_EQ(all["users"][1]["id"], kAdmin);
  EXPECT_EQ(all["users"][2]["active"], false);
  r = ctl(gw, {"users", "list", "--as", kAdmin});
  EXPECT_NE(r.output.find("nurse-1"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("inactive"), std::string::npos) << r.output;

  // Only an admin lists or changes users; the refusal's code is on stderr.
  r = ctl(gw, {"users", "list", "--as", "dr-sato"});
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("role_not_allowed"), std::string::npos) << r.output;
  r = ctl(gw, {"users", "remove", kAdmin, "--as", "dr-sato"});
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_EQ(ctl(gw, {"users", "list", "--as", "nurse-1"}).status, 1);  // inactive

  r = ctl(gw, {"users", "show", "dr-sato"});
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("physician"), std::string::npos) << r.output;
  ASSERT_EQ(ctl(gw, {"users", "remove", "dr-sato", "--as", kAdmin}).status, 0);
  r = ctl(gw, {"users", "show", "dr-sato"});
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("unknown_user"), std::string::npos) << r.output;

  // Bad input never reaches the daemon (a usage error); no token is an
  // action that failed, as in `status`.
  EXPECT_EQ(ctl(gw, {"users", "show", "../etc"}).status, 2);
  EXPECT_EQ(ctl(gw, {"users", "set", "x"}).status, 2);  // no --role
  EXPECT_EQ(ctl(gw, {"users", "frobnicate"}).status, 2);
  EXPECT_EQ(run({binary("hiegatectl").string(), "users", "show", "x", "--socket",
                 (gw.dir() / "local.sock").string()}, {"HIEGATE_TOKEN="})
                .status,
            1);

  // Each change and each listing is audited under the administrator.
  const auto types = audited_types(gw, kAdmin);
  EXPECT_EQ(std::count(types.begin(), types.end(), "user_update"), 3) << json(types).dump();
  EXPECT_EQ(std::count(types.begin(), types.end(), "user_list"), 2) << json(types).dump();
  EXPECT_EQ(std::count(types.begin(), types.end(), "user_delete"), 1) << json(types).dump();
}

// A gateway that cannot be reached, or no token, is an action that failed
// (exit 1), not a bad command line (exit 2): hiegatectl(8), EXIT STATUS.
TEST(HiegatectlAdmin, AnUnreachableGatewayOrNoTokenExitsOne) {
  TempDir dir;
  const std::string sock = (dir.path() / "nobody-listens.sock").string();
  const auto order = dir.path() / "orders.json";
  { std::ofstream(order) << "{}"; }
  const std::vector<std::vector<std::string>> commands = {{"status"},
                                                          {"users", "list", "--as", "admin-1"},
                                                          {"consents", "show", "PT-0001", "--as", "clerk-1"},
                                                          {"cache", "purge", "--as", "admin-1"},
                                                          {"directives", "show"},
                                                          {"directives", "apply", order.string()}};
  for (auto args : commands) {
    args.insert(args.begin(), binary("hiegatectl").string());
    args.insert(args.end(), {"--socket", sock});
    const auto unreachable = run(args, {"HIEGATE_TOKEN=not-a-real-token"});
    EXPECT_EQ(unreachable.status, 1) << args[1] << "\n" << unreachable.output;
    const auto no_token = run(args, {"HIEGATE_TOKEN="});
    EXPECT_EQ(no_token.status, 1) << args[1] << "\n" << no_token.output;
  }
}

TEST(HiegatectlAdmin, ConsentsAreRegisteredShownWithdrawnAndListedForRenewal) {
  Gateway gw;
  gw.start();
  ASSERT_EQ(gw.put_user("clerk-1", R"({"role":"clerk"})").status, 200);
  // Signed 5 years less 10 days ago: due for renewal within 60 days.
  const std::string signed_on = date_days_ago(5 * 365 - 10);
  auto r = ctl(gw, {"consents", "register", "PT-0001", "--signed-on", signed_on, "--form-ref", "paper-0042",
                    "--scope", "1300000002,1300000003", "--as", "clerk-1"});
  ASSERT_EQ(r.status, 0) << r.output;
  ASSERT_EQ(ctl(gw, {"consents", "register", "PT-0002", "--signed-on", date_days_ago(30), "--form-ref", "paper-7",
                     "--as", "clerk-1"})
                .status,
            0);
  r = ctl(gw, {"consents", "show", "PT-0001", "--json", "--as", "clerk-1"});
  ASSERT_EQ(r.status, 0) << r.output;
  const json c = json::parse(r.output, nullptr, false);
  EXPECT_EQ(c["scope"], json::array({"1300000002", "1300000003"})) << r.output;
  EXPECT_EQ(c["form_ref"], "paper-0042");
  EXPECT_EQ(c["registered_by"], "clerk-1");
  // Only registered users read or record consents.
  r = ctl(gw, {"consents", "show", "PT-0001", "--as", "someone-else"});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("unknown_user"), std::string::npos) << r.output;

  r = ctl(gw, {"consents", "expiring", "--within", "60d", "--as", "clerk-1"});
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("PT-0001"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("PT-0002"), std::string::npos) << r.output;

  r = ctl(gw, {"consents", "withdraw", "PT-0001", "--as", "clerk-1"});
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("WITHDRAWN"), std::string::npos) << r.output;
  // Withdrawn: off the renewal list, and a patient's consent is refused
  // at once by the disclosing decision (the record stays as evidence).
  EXPECT_EQ(ctl(gw, {"consents", "expiring", "--as", "clerk-1"}).output.find("PT-0001"), std::string::npos);
  r = ctl(gw, {"consents", "show", "PT-0001", "--json", "--as", "clerk-1"});
  EXPECT_TRUE(json::parse(r.output, nullptr, false).contains("withdrawn_at")) << r.output;

  r = ctl(gw, {"consents", "register", "PT-0003", "--signed-on", "not-a-date", "--form-ref", "x", "--as", "clerk-1"});
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("invalid"), std::string::npos) << r.output;
  EXPECT_EQ(ctl(gw, {"consents", "register", "PT-0003", "--as", "clerk-1"}).status, 2);  // no date, no form
  r = ctl(gw, {"consents", "show", "PT-9999", "--as", "clerk-1"});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("consent_missing"), std::string::npos) << r.output;
}

class HiegatectlDirectives : public DirectiveNetwork {};

TEST_F(HiegatectlDirectives, ShowNamesTheOrdersHeldAndThoseInForceHere) {
  Gateway gw("", directives_section());
  gw.start();
  auto r = ctl(gw, {"directives", "show"});
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("orders: none held"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("heartbeat: none held"), std::string::npos) << r.output;

  const json orders = json::array({LiveOrders::stop("2026-0042", json::array({gw.facility()})),
                                   LiveOrders::stop("2026-0043", json::array({"1300000009"}))});
  ASSERT_EQ(gw.call("POST", "/v1/directives", {}, orders_.delivery(1, orders)).status, 200);
  r = ctl(gw, {"directives", "show", "--json"});
  ASSERT_EQ(r.status, 0) << r.output;
  const json j = json::parse(r.output, nullptr, false);
  EXPECT_EQ(j["mode"]["state"], "stopped") << r.output;
  EXPECT_EQ(j["keyset"]["version"], 1);
  EXPECT_EQ(j["orders"]["sequence"], 1);
  ASSERT_EQ(j["orders"]["orders"].size(), 2U);
  EXPECT_EQ(j["orders"]["orders"][0]["in_force"], true);   // addressed to this facility
  EXPECT_EQ(j["orders"]["orders"][1]["in_force"], false);  // to another one
  EXPECT_EQ(j["orders"]["orders"][0]["message"]["ja"], "定期保守のため停止します");
  EXPECT_EQ(j["heartbeat"]["orders_sequence"], 1);
  EXPECT_EQ(j["heartbeat"]["expired"], false);

  r = ctl(gw, {"directives", "show"});
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("mode stopped"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("IN FORCE 2026-0042"), std::string::npos) << r.output;
  // Showing is allowed while stopped; a wrong token is refused.
  r = run({binary("hiegatectl").string(), "directives", "show", "--socket", (gw.dir() / "local.sock").string()},
          {"HIEGATE_TOKEN=hgt_wrong"});
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("unauthorized"), std::string::npos) << r.output;
}

// Reading the trail names patients and users: hiegatectl's report and
// export are themselves recorded before they run — spooled for a running
// daemon, appended directly when none runs.
TEST(HiegatectlAudit, ReadsOfTheTrailAreThemselvesRecorded) {
  Gateway gw;
  gw.start();
  ASSERT_EQ(gw.put_user("clerk-1", R"({"role":"clerk"})").status, 200);
  ASSERT_EQ(gw.call("PUT", "/v1/consents/P-9", {{"X-HIE-User", "clerk-1"}},
                    R"({"signed_on":"2026-01-10","scope":"*","form_ref":"paper-9"})")
                .status,
            200);
  auto audit = [&gw](std::vector<std::string> args) {
    args.insert(args.begin(), {binary("hiegatectl").string(), "audit"});
    args.insert(args.end(), {"--state-dir", (gw.dir() / "state").string(), "--key", (gw.dir() / "master-key").string()});
    return run(args);
  };
  auto report = audit({"report", "--patient", "P-9"});
  ASSERT_EQ(report.status, 0) << report.output;
  EXPECT_NE(report.output.find("consent_register"), std::string::npos) << report.output;
  EXPECT_NE(report.output.find("audit record spooled"), std::string::npos) << report.output;
  // The running daemon takes the spooled record in: the patient's report now
  // shows who read it.
  json last;
  EXPECT_TRUE(eventually([&] {
    const auto r = gw.call("GET", "/v1/audit/report?patient=P-9", {{"X-HIE-User", kAdmin}});
    const json records = json::parse(r.body, nullptr, false).value("records", json::array());
    for (const auto& rec : records) {
      if (rec.value("type", "") == "audit_report" && rec["agent"].value("role", "") == "hiegatectl") last = rec;
    }
    return !last.is_null();
  }));
  EXPECT_EQ(last["agent"]["who"].get<std::string>().rfind("unix:", 0), 0U) << last.dump();

  // Offline, the export appends its own record, then lists every record,
  // the report's included, with the patient in clear as asked.
  ASSERT_EQ(gw.stop(), 0);
  const auto exported = audit({"export", "--with-patient"});
  ASSERT_EQ(exported.status, 0) << exported.output;
  EXPECT_NE(exported.output.find("audit record appended"), std::string::npos) << exported.output;
  bool report_recorded = false, export_recorded = false;
  std::istringstream lines(exported.output);
  for (std::string line; std::getline(lines, line);) {
    const auto j = json::parse(line, nullptr, false);
    if (!j.is_object()) continue;
    report_recorded = report_recorded || (j.value("type", "") == "audit_report" && line.find("P-9") != std::string::npos);
    export_recorded = export_recorded || (j.value("type", "") == "audit_export" &&
                                          j.value("detail", "") == "format=jsonl with_patient");
  }
  EXPECT_TRUE(report_recorded) << exported.output;
  EXPECT_TRUE(export_recorded) << exported.output;
}

}  // namespace
}  // namespace hiegate::test
