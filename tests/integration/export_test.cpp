// Black-box tests of exports on a real hiegated: approvals, copy-out,
// printouts, secondary use, third-party provision and deletion follow-up.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "hiegate/crypto/encoding.hpp"
#include "hiegate/policy/rfc3339.hpp"
#include "integration/gateway.hpp"
#include "support/http_client.hpp"

namespace hiegate::test {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr const char* kPatientFhir =
    R"({"resourceType":"Patient","id":"p1","name":[{"text":"山田 太郎"}],"birthDate":"1950-04-01",)"
    R"("telecom":[{"value":"090-1234-5678"}]})";

std::string in(std::chrono::seconds d) {
  return policy::format_rfc3339(std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now()) + d);
}

class Exports : public ::testing::Test {
protected:
  void start(const std::string& extra = "") {
    gw_ = std::make_unique<Gateway>("", extra);
    gw_->start();
    for (const auto& [id, role] : std::vector<std::pair<std::string, std::string>>{
             {"doc-1", "physician"}, {"doc-2", "physician"}, {"nurse-1", "nurse"}, {"head-1", "approver"},
             {"clerk-1", "clerk"}}) {
      const auto r = gw_->put_user(id, json{{"role", role}}.dump());
      ASSERT_EQ(r.status, 200) << r.body;
    }
    publish("d-1", "P-1", "application/fhir+json", kPatientFhir);
    publish("d-2", "P-1", "application/pdf", "%PDF-1.7\n1 0 obj\n");
    publish("d-3", "P-2", "application/fhir+json", R"({"resourceType":"Observation","status":"final"})");
  }

  void publish(const std::string& id, const std::string& patient, const std::string& type, const std::string& content) {
    const json body = {{"patient", patient}, {"type", "summary"}, {"title", "t"}, {"created", "2026-11-20T10:00:00Z"},
                       {"content_type", type}, {"content_base64", crypto::to_base64(crypto::as_bytes(content))}};
    const auto r = gw_->call("PUT", "/v1/documents/" + id, {{"X-HIE-User", "clerk-1"}}, body.dump());
    ASSERT_EQ(r.status, 200) << r.body;
  }

  HttpResult call(const std::string& method, const std::string& target, const std::string& user,
                  const json& body = nullptr) {
    std::map<std::string, std::string> h;
    if (!user.empty()) h["X-HIE-User"] = user;
    return gw_->call(method, target, h, body.is_null() ? "" : body.dump());
  }

  /// Grants an approval by head-1 and returns its id.
  std::string approve(const std::string& requester, const std::string& patient, const json& docs,
                      const std::string& kind, const std::string& purpose = "referral",
                      std::chrono::seconds validity = 24h) {
    const auto r = call("POST", "/v1/approvals", "head-1",
                        {{"requester", requester}, {"patient", patient}, {"documents", docs}, {"kind", kind},
                         {"purpose", purpose}, {"valid_until", in(validity)}});
    EXPECT_EQ(r.status, 201) << r.body;
    return json::parse(r.body).value("id", "");
  }

  HttpResult do_export(const std::string& user, const std::string& kind, const json& docs,
                       const std::string& approval = "", const json& third_party = nullptr,
                       const std::string& patient = "P-1", const std::string& purpose = "referral") {
    json b = {{"patient", patient}, {"documents", docs}, {"kind", kind}, {"purpose", purpose}};
    if (!approval.empty()) b["approval"] = approval;
    if (!third_party.is_null()) b["third_party"] = third_party;
    return call("POST", "/v1/exports", user, b);
  }

  static std::string code(const HttpResult& r) {
    const auto j = json::parse(r.body, nullptr, false);
    return j.is_object() && j.contains("error") ? j["error"].value("code", "") : "";
  }

  static json docs(std::initializer_list<const char*> ids) {
    json a = json::array();
    for (const char* id : ids) a.push_back({{"id", id}});
    return a;
  }

  std::unique_ptr<Gateway> gw_;
};

TEST_F(Exports, ApprovalExportAndDeletionConfirmation) {
  start();
  auto r = do_export("doc-1", "media", docs({"d-1"}));
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(code(r), "approval_required");
  EXPECT_EQ(json::parse(r.body)["error"]["rule"], "export.approval");
  EXPECT_FALSE(json::parse(r.body)["error"]["localized"]["ja"].get<std::string>().empty());

  const std::string approval = approve("doc-1", "P-1", json{"d-1"}, "media");
  const auto list = json::parse(call("GET", "/v1/approvals?requester=doc-1", "head-1").body);
  ASSERT_EQ(list["approvals"].size(), 1U);
  EXPECT_EQ(list["approvals"][0]["state"], "active");
  EXPECT_EQ(list["approvals"][0]["requester"], "1312345678/doc-1");
  EXPECT_EQ(json::parse(call("GET", "/v1/approvals?requester=doc-2", "head-1").body)["approvals"].size(), 0U);
  // Others see only their own approvals; a list names patients, so it needs a user.
  EXPECT_EQ(json::parse(call("GET", "/v1/approvals", "doc-1").body)["approvals"].size(), 1U);
  EXPECT_EQ(json::parse(call("GET", "/v1/approvals", "doc-2").body)["approvals"].size(), 0U);
  EXPECT_EQ(code(call("GET", "/v1/approvals?requester=doc-1", "doc-2")), "role_not_allowed");
  EXPECT_EQ(code(call("GET", "/v1/approvals", "")), "invalid_user");
  EXPECT_EQ(code(call("GET", "/v1/approvals", "stranger")), "unknown_user");

  r = do_export("doc-1", "media", docs({"d-1"}), approval);
  ASSERT_EQ(r.status, 201) << r.body;
  const auto out = json::parse(r.body);
  const std::string ticket = out["ticket"];
  EXPECT_EQ(r.headers["location"], "/v1/exports/" + ticket);
  EXPECT_EQ(out["approval"], approval);
  EXPECT_NE(out["watermark"].get<std::string>().find("1312345678 1312345678/doc-1 "), std::string::npos);
  EXPECT_NE(out["watermark"].get<std::string>().find(ticket), std::string::npos);
  EXPECT_TRUE(policy::parse_rfc3339(out["delete_by"].get<std::string>()));
  ASSERT_EQ(out["documents"].size(), 1U);
  EXPECT_EQ(out["documents"][0]["content_base64"], crypto::to_base64(crypto::as_bytes(kPatientFhir)));

  // Only the exporter or an approver sees and closes the ticket.
  r = call("GET", "/v1/exports/" + ticket, "doc-2");
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(code(r), "ticket_not_yours");
  EXPECT_EQ(code(call("POST", "/v1/exports/" + ticket + "/deleted", "doc-2")), "ticket_not_yours");
  r = call("GET", "/v1/exports/" + ticket, "doc-1");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_FALSE(json::parse(r.body).contains("deleted_at"));
  EXPECT_EQ(call("GET", "/v1/exports/" + ticket, "head-1").status, 200);
  r = call("POST", "/v1/exports/" + ticket + "/deleted", "doc-1");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["deleted_by"], "1312345678/doc-1");
  EXPECT_EQ(json::parse(call("GET", "/v1/exports/" + ticket, "doc-1").body)["overdue"], false);
  EXPECT_EQ(call("GET", "/v1/exports/nothing-here", "doc-1").status, 404);

  // Revoking: approvers only; afterwards the approval no longer works.
  EXPECT_EQ(code(call("DELETE", "/v1/approvals/" + approval, "doc-1")), "role_not_allowed");
  r = call("DELETE", "/v1/approvals/" + approval, "head-1");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(json::parse(r.body).contains("revoked_at"));
  EXPECT_EQ(code(do_export("doc-1", "media", docs({"d-1"}), approval)), "approval_revoked");
  // Nothing about the patient reached the log.
  EXPECT_EQ(gw_->log().find("P-1"), std::string::npos);
  // Every step, allowed or refused, is in the audit trail.
  const auto report = run({binary("hiegatectl").string(), "audit", "report", "--patient", "P-1", "--state-dir",
                           (gw_->dir() / "state").string(), "--key", (gw_->dir() / "master-key").string()});
  ASSERT_EQ(report.status, 0) << report.output;
  for (const char* ev : {"approval_grant", "export"}) {
    EXPECT_NE(report.output.find(ev), std::string::npos) << ev << "\n" << report.output;
  }
  EXPECT_NE(report.output.find("approval_revoked"), std::string::npos) << report.output;
  // The export's record says what left the building: the documents, the
  // ticket to follow up and the approval it used.
  std::istringstream lines(report.output);
  int exported = 0;
  for (std::string line; std::getline(lines, line);) {
    if (line.find(" export action=R outcome=0 ") == std::string::npos) continue;
    ++exported;
    EXPECT_NE(line.find(" documents=d-1,ticket/" + ticket + " "), std::string::npos) << line;
    EXPECT_NE(line.find("detail=\"kind=media approval=" + approval + "\""), std::string::npos) << line;
  }
  EXPECT_EQ(exported, 1) << report.output;
  const auto all = run({binary("hiegatectl").string(), "audit", "export", "--state-dir",
                        (gw_->dir() / "state").string(), "--key", (gw_->dir() / "master-key").string()});
  EXPECT_NE(all.output.find("export_deletion_confirmed"), std::string::npos);
  EXPECT_NE(all.output.find("approval_revoke"), std::string::npos);
  // The lists and the ticket read, refused or not, too.
  for (const char* ev : {"\"approval_list\"", "\"export_read\""}) {
    EXPECT_NE(all.output.find(ev), std::string::npos) << ev;
  }
}

// An export's documents are counted in the memory budget ([daemon]
// document_memory_bytes) before they are read: one that does not fit now is
// refused with 503 overloaded, and the same export goes through once the
// memory is free.
TEST_F(Exports, DocumentsThatDoNotFitInMemoryAreRefusedBeforeTheyAreRead) {
  start();
  ASSERT_EQ(gw_->stop(), 0);
  std::string text = gw_->config_text("max_body_bytes = 1048576\n", "");
  text.replace(text.find("[daemon]\n"), 9, "[daemon]\ndocument_memory_bytes = 1048576\n");
  gw_->write_config(text);
  gw_->start();
  publish("d-big", "P-1", "application/fhir+json",
          R"({"resourceType":"Observation","status":"final","note":")" + std::string(200'000, 'x') + "\"}");
  // Until the daemon holds `bytes`: the publish's body is let go only after
  // its answer is written, which its client may see first.
  const auto wait_held = [&](const std::string& bytes) {
    bool held = false;
    for (int i = 0; i < 1000 && !held; ++i) {
      held = gw_->get("/metrics").body.find("\nhiegate_document_memory_bytes " + bytes + "\n") != std::string::npos;
      if (!held) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return held;
  };
  ASSERT_TRUE(wait_held("0"));
  {
    // An upload whose 900,000 bytes are announced and not sent holds them.
    RawConn pending(gw_->tcp());
    ASSERT_TRUE(pending.send("PUT /v1/documents/pending HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                             std::string(kToken) + "\r\nContent-Length: 900000\r\n\r\n"));
    ASSERT_TRUE(wait_held("900000")) << gw_->get("/metrics").body;
    const auto r = do_export("nurse-1", "print", docs({"d-big"}));
    EXPECT_EQ(r.status, 503) << r.body;
    EXPECT_EQ(code(r), "overloaded");
  }
  HttpResult ok;
  for (int i = 0; i < 500; ++i) {  // until the connection's close is seen
    ok = do_export("nurse-1", "print", docs({"d-big"}));
    if (ok.status != 503) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(ok.status, 201) << ok.body;
}

TEST_F(Exports, OverdueListingUntilDeletionIsConfirmed) {
  start("[policy.export]\ndelete_after = \"1s\"\n");
  const auto r = do_export("nurse-1", "print", docs({"d-1"}));
  ASSERT_EQ(r.status, 201) << r.body;
  const std::string ticket = json::parse(r.body)["ticket"];
  json overdue;
  for (int i = 0; i < 50; ++i) {  // the deadline is one second away
    overdue = json::parse(call("GET", "/v1/exports?overdue=true", "head-1").body)["exports"];
    if (!overdue.empty()) break;
    std::this_thread::sleep_for(100ms);
  }
  ASSERT_EQ(overdue.size(), 1U);
  EXPECT_EQ(overdue[0]["ticket"], ticket);
  EXPECT_EQ(overdue[0]["user"], "1312345678/nurse-1");
  EXPECT_EQ(json::parse(call("GET", "/v1/exports?user=nurse-1", "head-1").body)["exports"].size(), 1U);
  EXPECT_EQ(json::parse(call("GET", "/v1/exports?user=doc-1", "head-1").body)["exports"].size(), 0U);
  // The exporter sees their own; anyone else who is not an approver none of theirs.
  EXPECT_EQ(json::parse(call("GET", "/v1/exports", "nurse-1").body)["exports"].size(), 1U);
  EXPECT_EQ(json::parse(call("GET", "/v1/exports?overdue=true", "doc-1").body)["exports"].size(), 0U);
  EXPECT_EQ(code(call("GET", "/v1/exports?user=nurse-1", "doc-1")), "role_not_allowed");
  EXPECT_EQ(code(call("GET", "/v1/exports", "")), "invalid_user");
  EXPECT_EQ(call("GET", "/v1/exports?overdue=maybe", "head-1").status, 400);
  ASSERT_EQ(call("POST", "/v1/exports/" + ticket + "/deleted", "head-1").status, 200);
  EXPECT_TRUE(json::parse(call("GET", "/v1/exports?overdue=true", "head-1").body)["exports"].empty());
}

TEST_F(Exports, PrintWatermarkQuotaRolesAndRemoteDocuments) {
  start("[policy.export]\nwatermark = \"{facility}|{user}|{kind}|{ticket}\"\n"
        "[policy.export.print]\nroles = [\"nurse\"]\ndaily_quota = 2\n");
  for (int i = 0; i < 2; ++i) {
    const auto r = do_export("nurse-1", "print", docs({"d-1", "d-2"}));
    ASSERT_EQ(r.status, 201) << r.body;
    const auto j = json::parse(r.body);
    EXPECT_EQ(j["watermark"], "1312345678|1312345678/nurse-1|print|" + j["ticket"].get<std::string>());
    EXPECT_EQ(j["quota_remaining"], 1 - i);
    EXPECT_EQ(j["documents"][1]["content_type"], "application/pdf");
  }
  auto r = do_export("nurse-1", "print", docs({"d-1"}));
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(code(r), "quota_exceeded");
  EXPECT_EQ(json::parse(r.body)["error"]["rule"], "export.quota");
  EXPECT_EQ(code(do_export("doc-1", "print", docs({"d-1"}))), "role_not_allowed");
  // A document fetched from another facility is not printable by default.
  r = do_export("doc-1", "media", json::array({{{"id", "x-1"}, {"facility", "1399999999"}}}));
  EXPECT_EQ(code(r), "remote_document_not_exportable");
  // A document that is not there, or another patient's, is not exported.
  const std::string a = approve("doc-1", "P-1", json{"d-3", "zz"}, "media");
  EXPECT_EQ(do_export("doc-1", "media", docs({"zz"}), a).status, 404);
  r = do_export("doc-1", "media", docs({"d-3"}), a);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(code(r), "invalid_request");
}

TEST_F(Exports, SecondaryUseIsDeidentifiedAndRefusesOpaqueContent) {
  start();
  EXPECT_EQ(code(do_export("doc-1", "secondary_use", docs({"d-1"}), "", nullptr, "P-1", "study")),
            "approval_required");
  const std::string a = approve("doc-1", "P-1", json{"d-1", "d-2"}, "secondary_use", "study");
  auto r = do_export("doc-1", "secondary_use", docs({"d-1"}), a, nullptr, "P-1", "study");
  ASSERT_EQ(r.status, 201) << r.body;
  const auto out = json::parse(r.body);
  EXPECT_EQ(out["deidentified"], true);
  EXPECT_EQ(out["documents"][0]["content_type"], "application/fhir+json");
  const auto bytes = crypto::from_base64(out["documents"][0]["content_base64"].get<std::string>());
  ASSERT_TRUE(bytes);
  const std::string text(bytes->begin(), bytes->end());
  const auto fhir = json::parse(text);
  EXPECT_EQ(fhir["resourceType"], "Patient");
  EXPECT_FALSE(fhir.contains("name"));
  EXPECT_FALSE(fhir.contains("telecom"));
  EXPECT_EQ(fhir["birthDate"], "1950");
  EXPECT_NE(fhir["id"], "p1");
  EXPECT_EQ(text.find("山田"), std::string::npos);
  EXPECT_NE(text.find("PSEUDED"), std::string::npos);
  // A second export gets a fresh key: unrelated pseudonyms.
  r = do_export("doc-1", "secondary_use", docs({"d-1"}), a, nullptr, "P-1", "study");
  ASSERT_EQ(r.status, 201) << r.body;
  const auto again = crypto::from_base64(json::parse(r.body)["documents"][0]["content_base64"].get<std::string>());
  EXPECT_NE(json::parse(std::string(again->begin(), again->end()))["id"], fhir["id"]);

  r = do_export("doc-1", "secondary_use", docs({"d-2"}), a, nullptr, "P-1", "study");
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(code(r), "cannot_anonymize");
  EXPECT_EQ(r.body.find("%PDF"), std::string::npos);
  // The refused export left no ticket behind.
  EXPECT_EQ(json::parse(call("GET", "/v1/exports?user=doc-1", "doc-1").body)["exports"].size(), 2U);
}

TEST_F(Exports, ThirdPartyNeedsConsentOrALegalBasis) {
  start();
  const std::string a = approve("doc-1", "P-1", json{"d-1"}, "third_party", "report");
  const json recipient = {{"recipient", "保健所"}};
  auto r = do_export("doc-1", "third_party", docs({"d-1"}), a, recipient, "P-1", "report");
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(code(r), "legal_basis_required");
  r = do_export("doc-1", "third_party", docs({"d-1"}), a,
                {{"recipient", "保健所"}, {"basis", "law"}, {"justification", "short"}}, "P-1", "report");
  EXPECT_EQ(code(r), "legal_basis_required");
  r = do_export("doc-1", "third_party", docs({"d-1"}), a,
                {{"recipient", "保健所"}, {"basis", "law"},
                 {"justification", "感染症法第12条に基づく医師の届出義務による提供 (notifiable disease report)"}},
                "P-1", "report");
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(json::parse(r.body)["third_party_basis"], "law");
  // A consent reference counts only with the patient's registered consent,
  // and only while it stands: one signed more than 5 years ago has expired.
  const json with_consent = {{"recipient", "保健所"}, {"consent", "form-77"}};
  for (const char* signed_on : {"", "2020-01-10", "2026-01-10"}) {
    if (*signed_on != '\0') {
      ASSERT_EQ(gw_->call("PUT", "/v1/consents/P-1", {{"X-HIE-User", "clerk-1"}},
                          json{{"signed_on", signed_on}, {"scope", "*"}, {"form_ref", "paper-1"}}.dump())
                    .status,
                200);
    }
    if (std::string(signed_on) == "2026-01-10") break;
    EXPECT_EQ(code(do_export("doc-1", "third_party", docs({"d-1"}), a, with_consent, "P-1", "report")),
              "legal_basis_required")
        << signed_on;
  }
  r = do_export("doc-1", "third_party", docs({"d-1"}), a, with_consent, "P-1", "report");
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(json::parse(r.body)["third_party_basis"], "consent");
  EXPECT_EQ(json::parse(call("GET", "/v1/exports/" + json::parse(r.body)["ticket"].get<std::string>(), "doc-1")
                            .body)["third_party"]["consent"],
            "form-77");
  // No recipient, an unknown basis, third_party on another kind: bad requests.
  EXPECT_EQ(do_export("doc-1", "third_party", docs({"d-1"}), a, {{"basis", "law"}}, "P-1", "report").status, 400);
  EXPECT_EQ(do_export("doc-1", "third_party", docs({"d-1"}), a, {{"basis", "whim"}, {"recipient", "x"}}).status, 400);
  EXPECT_EQ(do_export("doc-1", "print", docs({"d-1"}), "", recipient).status, 400);
}

TEST_F(Exports, BadApprovalsAndBadInputAreRefused) {
  start();
  // Self-approval, a non-approver, an unknown requester, an invalid scope.
  auto r = call("POST", "/v1/approvals", "head-1",
                {{"requester", "head-1"}, {"patient", "P-1"}, {"documents", {"d-1"}}, {"kind", "media"},
                 {"purpose", "x"}, {"valid_until", in(1h)}});
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(code(r), "self_approval");
  r = call("POST", "/v1/approvals", "doc-2",
           {{"requester", "doc-1"}, {"patient", "P-1"}, {"documents", {"d-1"}}, {"kind", "media"},
            {"purpose", "x"}, {"valid_until", in(1h)}});
  EXPECT_EQ(code(r), "role_not_allowed");
  r = call("POST", "/v1/approvals", "head-1",
           {{"requester", "ghost"}, {"patient", "P-1"}, {"documents", {"d-1"}}, {"kind", "media"},
            {"purpose", "x"}, {"valid_until", in(1h)}});
  EXPECT_EQ(code(r), "unknown_user");
  r = call("POST", "/v1/approvals", "head-1",
           {{"requester", "doc-1"}, {"patient", "P-1"}, {"documents", {"d-1"}}, {"kind", "media"},
            {"purpose", "x"}, {"valid_until", in(std::chrono::days(30))}});
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(code(r), "invalid_request");
  EXPECT_EQ(call("POST", "/v1/approvals", "head-1", {{"requester", "doc-1"}, {"extra", 1}}).status, 400);
  EXPECT_EQ(json::parse(call("GET", "/v1/approvals", "head-1").body)["approvals"].size(), 0U);

  // An approval for another patient, beyond its documents, kind or purpose,
  // or for another requester does not cover the export.
  const std::string other = approve("doc-1", "P-2", json{"d-3"}, "media");
  EXPECT_EQ(code(do_export("doc-1", "media", docs({"d-1"}), other)), "approval_invalid");
  const std::string a = approve("doc-1", "P-1", json{"d-1"}, "media");
  EXPECT_EQ(code(do_export("doc-1", "media", docs({"d-1", "d-2"}), a)), "approval_invalid");
  EXPECT_EQ(code(do_export("doc-1", "third_party", docs({"d-1"}), a,
                           {{"recipient", "x"}, {"basis", "law"}, {"justification", std::string(40, 'j')}})),
            "approval_invalid");
  EXPECT_EQ(code(do_export("doc-1", "media", docs({"d-1"}), a, nullptr, "P-1", "other purpose")), "approval_invalid");
  EXPECT_EQ(code(do_export("doc-2", "media", docs({"d-1"}), a)), "approval_invalid");
  EXPECT_EQ(code(do_export("doc-1", "media", docs({"d-1"}), "no-such-approval")), "approval_invalid");
  // Within its scope it is used more than once.
  EXPECT_EQ(do_export("doc-1", "media", docs({"d-1"}), a).status, 201);
  EXPECT_EQ(do_export("doc-1", "media", docs({"d-1"}), a).status, 201);

  // Malformed requests and unknown users.
  EXPECT_EQ(do_export("ghost", "print", docs({"d-1"})).status, 403);
  EXPECT_EQ(do_export("", "print", docs({"d-1"})).status, 400);
  EXPECT_EQ(do_export("doc-1", "fax", docs({"d-1"})).status, 400);
  EXPECT_EQ(do_export("doc-1", "print", json::array()).status, 400);
  EXPECT_EQ(do_export("doc-1", "print", docs({"d-1", "d-1"})).status, 400);
  EXPECT_EQ(do_export("doc-1", "print", docs({"../x"})).status, 400);
  EXPECT_EQ(call("POST", "/v1/exports", "doc-1", json::array()).status, 400);

  // An approval that expires: valid for two seconds (the daemon's clock decides).
  const std::string brief = approve("doc-1", "P-1", json{"d-1"}, "media", "referral", 2s);
  std::string state;
  for (int i = 0; i < 50 && state != "expired"; ++i) {
    const json list = json::parse(call("GET", "/v1/approvals?requester=doc-1", "doc-1").body);
    for (const auto& item : list["approvals"]) {
      if (item["id"] == brief) state = item["state"].get<std::string>();
    }
    if (state != "expired") std::this_thread::sleep_for(100ms);
  }
  ASSERT_EQ(state, "expired");
  const std::string last = code(do_export("doc-1", "media", docs({"d-1"}), brief));
  EXPECT_EQ(last, "approval_expired");
}

}  // namespace
}  // namespace hiegate::test
