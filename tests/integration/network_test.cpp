// Three real gateways on loopback with a dev PKI: clinical sharing across the
// network (利用規程 第6・7・11条) as a clinician's EHR would drive it.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "hiegate/crypto/encoding.hpp"
#include "integration/network_fixture.hpp"

namespace hiegate::test {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

const std::string kReason = "意識障害で救急搬送、既往歴とアレルギーの確認が必要";

// `hiegatectl audit ARGS` on a gateway's own trail.
RunResult audit(const Gateway& gw, std::vector<std::string> args) {
  std::vector<std::string> argv = {binary("hiegatectl").string(), "audit"};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.insert(argv.end(), {"--state-dir", (gw.dir() / "state").string(), "--key", (gw.dir() / "master-key").string()});
  return run(argv);
}

TEST_F(Network, ListAndFetchWithConsentRefusedWithout) {
  auto a = make(kA);
  auto b = make(kB);
  auto c = make(kC);
  register_user(*a, "dr-sato", "physician");
  register_user(*b, "clerk-1", "clerk");
  register_user(*c, "clerk-1", "clerk");
  publish(*b, "b-summary-1", "NT-0001", "summary");
  publish(*c, "c-lab-1", "NT-0001", "lab");
  consent(*b, "NT-0001", "2025-04-01");  // C has no consent for this patient

  const auto r = a->call("GET", "/v1/patients/NT-0001/documents", as("dr-sato"));
  ASSERT_EQ(r.status, 200) << r.body;
  const json list = json::parse(r.body);
  ASSERT_EQ(list["documents"].size(), 1U) << r.body;
  EXPECT_EQ(list["documents"][0]["id"], "b-summary-1");
  EXPECT_EQ(list["documents"][0]["facility"], kB);
  EXPECT_EQ(list["documents"][0]["title"], "退院時サマリー");
  EXPECT_EQ(facility_entry(list, kB)["status"], "answered");
  EXPECT_EQ(facility_entry(list, kC)["status"], "refused");
  EXPECT_EQ(facility_entry(list, kC)["error"]["code"], "consent_missing");
  EXPECT_FALSE(facility_entry(list, kC)["error"]["localized"]["ja"].get<std::string>().empty());

  const auto f = a->call("GET", std::string("/v1/facilities/") + kB + "/documents/b-summary-1", as("dr-sato"));
  ASSERT_EQ(f.status, 200) << f.body;
  const json doc = json::parse(f.body);
  EXPECT_EQ(doc["content_type"], "application/fhir+json");
  const auto bytes = crypto::from_base64(doc["content_base64"].get<std::string>());
  ASSERT_TRUE(bytes);
  EXPECT_EQ(std::string(bytes->begin(), bytes->end()), R"({"resourceType":"Bundle","type":"document"})");

  const auto refused = a->call("GET", std::string("/v1/facilities/") + kC + "/documents/c-lab-1", as("dr-sato"));
  EXPECT_EQ(refused.status, 403);
  EXPECT_EQ(json::parse(refused.body)["error"]["code"], "consent_missing");

  // Every access is in the audit trails, on both sides, before it was answered:
  // the disclosure report for the patient (規程 第20条) and a verified chain.
  const auto at_b = audit(*b, {"report", "--patient", "NT-0001"});
  ASSERT_EQ(at_b.status, 0) << at_b.output;
  EXPECT_NE(at_b.output.find("disclosure_read"), std::string::npos) << at_b.output;
  EXPECT_NE(at_b.output.find(std::string(kA) + "/dr-sato"), std::string::npos) << at_b.output;
  const auto at_c = audit(*c, {"report", "--patient", "NT-0001"});
  EXPECT_NE(at_c.output.find("consent_missing"), std::string::npos) << at_c.output;
  const auto at_a = audit(*a, {"report", "--user", std::string(kA) + "/dr-sato"});
  EXPECT_NE(at_a.output.find("document_read"), std::string::npos) << at_a.output;
  const auto verify = audit(*b, {"verify"});
  EXPECT_EQ(verify.status, 0) << verify.output;
}

// Every fetch is recorded under the document's own patient (the disclosure
// report of 規程 第20条 finds it at the asking facility too), and a break-glass
// window opened for one patient does not reach another patient's documents
// through a fetch that names the first: the disclosing side refuses it.
TEST_F(Network, AFetchIsRecordedUnderItsPatientAndAWindowServesOnlyItsPatient) {
  auto a = make(kA);
  auto b = make(kB);
  register_user(*a, "dr-sato", "physician");
  register_user(*b, "clerk-1", "clerk");
  publish(*b, "b-summary-1", "NT-0001", "summary");
  publish(*b, "b-allergy-4", "NT-0004", "allergy");
  publish(*b, "b-allergy-9", "NT-0009", "allergy");
  consent(*b, "NT-0001", "2025-04-01");
  const std::string docs = std::string("/v1/facilities/") + kB + "/documents/";
  ASSERT_EQ(a->call("GET", docs + "b-summary-1", as("dr-sato")).status, 200);
  ASSERT_EQ(a->call("GET", "/v1/patients/NT-0004/documents", as("dr-sato", "emergency", kReason)).status, 200);
  auto window = as("dr-sato", "emergency");
  window["X-HIE-Patient"] = "NT-0004";
  EXPECT_EQ(a->call("GET", docs + "b-allergy-4", window).status, 200);
  const auto other = a->call("GET", docs + "b-allergy-9", window);
  EXPECT_EQ(other.status, 403) << other.body;
  EXPECT_EQ(json::parse(other.body)["error"]["code"], "patient_mismatch") << other.body;
  EXPECT_EQ(other.body.find("content"), std::string::npos);

  const auto at_a = audit(*a, {"report", "--patient", "NT-0001"});
  ASSERT_EQ(at_a.status, 0) << at_a.output;
  EXPECT_NE(at_a.output.find("document_read"), std::string::npos) << at_a.output;
  const auto at_b = audit(*b, {"report", "--patient", "NT-0009"});
  ASSERT_EQ(at_b.status, 0) << at_b.output;
  // Nothing of NT-0009 was disclosed: its one read at B is the refusal, with
  // who asked.
  std::istringstream lines(at_b.output);
  int reads = 0;
  for (std::string line; std::getline(lines, line);) {
    if (line.find(" disclosure_read ") == std::string::npos) continue;
    ++reads;
    EXPECT_NE(line.find("outcome=4"), std::string::npos) << line;
    EXPECT_NE(line.find("reason=patient_mismatch"), std::string::npos) << line;
    EXPECT_NE(line.find(std::string("user=") + kA + "/dr-sato"), std::string::npos) << line;
  }
  EXPECT_EQ(reads, 1) << at_b.output;
}

TEST_F(Network, ExpiredConsentAndScope) {
  auto a = make(kA);
  auto b = make(kB);
  register_user(*a, "dr-sato", "physician");
  register_user(*b, "clerk-1", "clerk");
  publish(*b, "b-1", "NT-0002", "summary");
  publish(*b, "b-2", "NT-0003", "summary");
  consent(*b, "NT-0002", "2020-01-10");                  // more than 5 years ago
  consent(*b, "NT-0003", "2026-01-10", json::array({kC}));  // A is out of scope
  auto l = json::parse(a->call("GET", "/v1/patients/NT-0002/documents", as("dr-sato")).body);
  EXPECT_EQ(facility_entry(l, kB)["error"]["code"], "consent_expired");
  l = json::parse(a->call("GET", "/v1/patients/NT-0003/documents", as("dr-sato")).body);
  EXPECT_EQ(facility_entry(l, kB)["error"]["code"], "consent_scope");
  // The renewal worklist at B lists the expired consent.
  EXPECT_EQ(b->call("GET", "/v1/consents?expiring_within=60d").status, 400);  // no user named
  const auto w = b->call("GET", "/v1/consents?expiring_within=60d", as("clerk-1"));
  ASSERT_EQ(w.status, 200);
  const auto wl = json::parse(w.body)["consents"];
  ASSERT_EQ(wl.size(), 1U) << w.body;
  EXPECT_EQ(wl[0]["patient"], "NT-0002");
  EXPECT_TRUE(wl[0]["expired"].get<bool>());
}

TEST_F(Network, EmergencyAccessWithinItsLimits) {
  auto a = make(kA);
  auto b = make(kB);
  register_user(*a, "dr-sato", "physician");
  register_user(*a, "clerk-9", "clerk");
  register_user(*b, "clerk-1", "clerk");
  publish(*b, "b-allergy", "NT-0004", "allergy");
  publish(*b, "b-imaging", "NT-0004", "imaging_report");
  // No consent at B. Treatment: refused.
  auto l = json::parse(a->call("GET", "/v1/patients/NT-0004/documents", as("dr-sato")).body);
  EXPECT_EQ(facility_entry(l, kB)["error"]["code"], "consent_missing");
  // Emergency without a reason, with a short one, by a clerk: refused locally.
  EXPECT_EQ(json::parse(a->call("GET", "/v1/patients/NT-0004/documents", as("dr-sato", "emergency")).body)["error"]["code"],
            "emergency_reason_required");
  EXPECT_EQ(json::parse(a->call("GET", "/v1/patients/NT-0004/documents", as("dr-sato", "emergency", "急ぎ")).body)["error"]["code"],
            "emergency_reason_too_short");
  EXPECT_EQ(json::parse(a->call("GET", "/v1/patients/NT-0004/documents", as("clerk-9", "emergency", kReason)).body)["error"]["code"],
            "role_not_allowed");
  // With a reason: only the emergency document types.
  const auto r = a->call("GET", "/v1/patients/NT-0004/documents", as("dr-sato", "emergency", kReason));
  ASSERT_EQ(r.status, 200) << r.body;
  l = json::parse(r.body);
  ASSERT_EQ(l["documents"].size(), 1U) << r.body;
  EXPECT_EQ(l["documents"][0]["id"], "b-allergy");
  EXPECT_TRUE(l["emergency"].get<bool>());
  auto hdr = as("dr-sato", "emergency");
  EXPECT_EQ(a->call("GET", std::string("/v1/facilities/") + kB + "/documents/b-imaging", hdr).status, 400);
  hdr["X-HIE-Patient"] = "NT-0004";
  const auto img = a->call("GET", std::string("/v1/facilities/") + kB + "/documents/b-imaging", hdr);
  EXPECT_EQ(img.status, 403);
  EXPECT_EQ(json::parse(img.body)["error"]["code"], "emergency_type_not_allowed");
  const auto allergy = a->call("GET", std::string("/v1/facilities/") + kB + "/documents/b-allergy", hdr);
  EXPECT_EQ(allergy.status, 200) << allergy.body;
  // The window is open: no new reason needed for this user and patient.
  EXPECT_EQ(a->call("GET", "/v1/patients/NT-0004/documents", as("dr-sato", "emergency")).status, 200);
  // Listed for review, to administrators only.
  const auto not_admin = a->call("GET", "/v1/emergency-accesses", as("dr-sato"));
  EXPECT_EQ(not_admin.status, 403);
  EXPECT_EQ(json::parse(not_admin.body)["error"]["code"], "role_not_allowed") << not_admin.body;
  register_user(*a, "admin-1", "admin");
  const auto rev = json::parse(a->call("GET", "/v1/emergency-accesses", as("admin-1")).body);
  ASSERT_EQ(rev["emergency_accesses"].size(), 1U);
  EXPECT_EQ(rev["emergency_accesses"][0]["reason"], kReason);
  // A restart keeps the open window and the review list (both stored sealed).
  a->process().signal(SIGTERM);
  ASSERT_EQ(a->process().wait(std::chrono::seconds(10)), 0);
  a->start();
  const auto listed = a->call("GET", "/v1/emergency-accesses", as("admin-1"));
  ASSERT_EQ(listed.status, 200) << listed.body << a->log();
  const auto kept = json::parse(listed.body);
  ASSERT_EQ(kept["emergency_accesses"].size(), 1U) << kept.dump();
  EXPECT_EQ(kept["emergency_accesses"][0]["reason"], kReason);
  EXPECT_EQ(kept["emergency_accesses"][0]["patient"], "NT-0004");
  EXPECT_EQ(a->call("GET", "/v1/patients/NT-0004/documents", as("dr-sato", "emergency")).status, 200);
  // Another patient has no window: a reason is still required.
  EXPECT_EQ(json::parse(a->call("GET", "/v1/patients/NT-0005/documents", as("dr-sato", "emergency")).body)["error"]["code"],
            "emergency_reason_required");
}

TEST_F(Network, PeerDownAndSlowPeerGivePartialResults) {
  // A "peer" that accepts TCP and never speaks: the fetch timeout applies.
  const int mute = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(mute, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
  ::listen(mute, 16);
  socklen_t len = sizeof sa;
  ::getsockname(mute, reinterpret_cast<sockaddr*>(&sa), &len);
  const std::string slow = "[[peers]]\nfacility = \"1300000009\"\nhost = \"127.0.0.1\"\nport = " +
                           std::to_string(ntohs(sa.sin_port)) + "\n";
  auto a = make(kA, slow);
  auto b = make(kB);
  // C is never started: down.
  register_user(*a, "dr-sato", "physician");
  register_user(*b, "clerk-1", "clerk");
  publish(*b, "b-1", "NT-0005", "summary");
  consent(*b, "NT-0005", "2025-04-01");
  const auto start = std::chrono::steady_clock::now();
  const auto r = a->call("GET", "/v1/patients/NT-0005/documents", as("dr-sato"));
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_EQ(r.status, 200) << r.body;
  const json l = json::parse(r.body);
  EXPECT_EQ(l["documents"].size(), 1U);
  EXPECT_EQ(facility_entry(l, kB)["status"], "answered");
  EXPECT_EQ(facility_entry(l, kC)["status"], "unavailable");
  const auto s = facility_entry(l, "1300000009")["status"];
  EXPECT_TRUE(s == "timeout" || s == "unavailable") << l.dump();
  EXPECT_LT(took, 6s);  // bounded by the per-peer timeout, not hung
  ::close(mute);
}

TEST_F(Network, WithdrawnConsentAfterACachedFetch) {
  auto a = make(kA);
  auto b = make(kB);
  const std::string path = share_one(*a, *b, "NT-0006");
  auto first = a->call("GET", path, as("dr-sato"));
  ASSERT_EQ(first.status, 200);
  EXPECT_FALSE(json::parse(first.body)["cached"].get<bool>());
  // Within the TTL the copy comes from the sealed cache, after the clinic
  // decided again.
  auto second = a->call("GET", path, as("dr-sato"));
  ASSERT_EQ(second.status, 200) << second.body;
  EXPECT_TRUE(json::parse(second.body)["cached"].get<bool>());
  EXPECT_TRUE(json::parse(second.body)["decision_verified"].get<bool>());
  EXPECT_EQ(json::parse(second.body)["content_base64"], json::parse(first.body)["content_base64"]);
  // A withdrawal names who recorded it (the audit record's user).
  const auto anonymous = b->call("DELETE", "/v1/consents/NT-0006");
  EXPECT_EQ(anonymous.status, 400);
  EXPECT_EQ(json::parse(anonymous.body)["error"]["code"], "invalid_user");
  ASSERT_EQ(a->call("GET", path, as("dr-sato")).status, 200);  // still in force
  ASSERT_EQ(b->call("DELETE", "/v1/consents/NT-0006", {{"X-HIE-User", "clerk-1"}}).status, 200);
  const auto r = a->call("GET", path, as("dr-sato"));
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_EQ(json::parse(r.body)["error"]["code"], "consent_withdrawn");
}

// Facility IT destroys the cached copies on its own initiative (hiegatectl
// cache purge, an admin, audited): the next fetch goes to the facility again.
TEST_F(Network, AnAdministratorPurgesTheCache) {
  auto a = make(kA);
  auto b = make(kB);
  const std::string path = share_one(*a, *b, "NT-0007");
  ASSERT_EQ(a->call("GET", path, as("dr-sato")).status, 200);
  auto purge = [&](const std::string& user, const std::vector<std::string>& extra = {}) {
    std::vector<std::string> argv = {binary("hiegatectl").string(), "cache", "purge", "--as", user, "--socket",
                                     (a->dir() / "local.sock").string()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return run(argv, {std::string("HIEGATE_TOKEN=") + kToken});
  };
  auto r = purge("dr-sato");  // not an admin
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("role_not_allowed"), std::string::npos) << r.output;
  r = purge(kAdmin, {"--expired-only"});  // nothing has expired
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("0 cached documents destroyed"), std::string::npos) << r.output;
  auto again = a->call("GET", path, as("dr-sato"));
  ASSERT_EQ(again.status, 200);
  EXPECT_TRUE(json::parse(again.body)["cached"].get<bool>());

  r = purge(kAdmin);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("1 cached documents destroyed"), std::string::npos) << r.output;
  again = a->call("GET", path, as("dr-sato"));
  ASSERT_EQ(again.status, 200);
  EXPECT_FALSE(json::parse(again.body)["cached"].get<bool>());
  EXPECT_TRUE(wait_for_line(a->dir() / "hiegated.log", "cache purged by an administrator")) << a->log();
  // Audited, refused and allowed alike, under the acting user.
  const auto report = a->call("GET", std::string("/v1/audit/report?user=") + kAdmin, {{"X-HIE-User", kAdmin}});
  ASSERT_EQ(report.status, 200) << report.body;
  int purges = 0;
  const json records = json::parse(report.body)["records"];
  for (const auto& rec : records) purges += rec["type"] == "cache_purge";
  EXPECT_EQ(purges, 2) << report.body;
  EXPECT_EQ(a->call("POST", "/v1/cache/purge", {{"X-HIE-User", kAdmin}}, "[1]").status, 400);
  EXPECT_EQ(a->call("POST", "/v1/cache/purge", {{"X-HIE-User", kAdmin}}, R"({"expired_only":"yes"})").status, 400);
}

// A facility past its fair share of requests answers 429 rate_limited: the
// calling gateway takes that as "busy", not as a refusal. The list names it
// unavailable; a cached copy is not barred, and is served again as soon as
// the facility can confirm its decision.
TEST_F(Network, ABusyFacilityIsNotARefusal) {
  // B gives A's gateway two requests, then none for about 17 minutes.
  peer_api_extra_[kB] = "requests_per_second_per_facility = 0.001\nrequest_burst_per_facility = 2\n";
  auto a = make(kA);
  auto b = make(kB);
  register_user(*a, "dr-sato", "physician");
  register_user(*b, "clerk-1", "clerk");
  publish(*b, "b-busy", "NT-0010", "summary");
  consent(*b, "NT-0010", "2025-04-01");
  const std::string path = std::string("/v1/facilities/") + kB + "/documents/b-busy";
  const auto first = a->call("GET", path, as("dr-sato"));
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_FALSE(json::parse(first.body)["cached"].get<bool>());
  const auto second = a->call("GET", path, as("dr-sato"));
  ASSERT_EQ(second.status, 200) << second.body;
  EXPECT_TRUE(json::parse(second.body)["decision_verified"].get<bool>());

  // B's share for A is used up. Without a confirmed decision (and with
  // consent_evidence_max_age 0s here) A does not serve its copy, and says why.
  const auto busy = a->call("GET", path, as("dr-sato"));
  EXPECT_EQ(busy.status, 504) << busy.body;
  EXPECT_EQ(json::parse(busy.body)["error"]["code"], "consent_unverified");
  EXPECT_NE(busy.body.find("busy (HTTP 429)"), std::string::npos) << busy.body;
  const auto list = a->call("GET", "/v1/patients/NT-0010/documents", as("dr-sato"));
  ASSERT_EQ(list.status, 200) << list.body;
  const json l = json::parse(list.body);
  EXPECT_EQ(facility_entry(l, kB)["status"], "unavailable") << l.dump();
  EXPECT_EQ(facility_entry(l, kB)["error"]["code"], "rate_limited");
  const auto m = b->get("/metrics");
  EXPECT_NE(m.body.find("hiegate_peer_requests_rate_limited_total 2"), std::string::npos) << m.body;

  // B with its default shares again: A's copy was not barred, it is served
  // from the cache once B confirms.
  ASSERT_EQ(b->stop(), 0);
  peer_api_extra_[kB] = "";
  b->write_config(config_for(*b, kB));
  b->start();
  const auto again = a->call("GET", path, as("dr-sato"));
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_TRUE(json::parse(again.body)["cached"].get<bool>());
  EXPECT_TRUE(json::parse(again.body)["decision_verified"].get<bool>());
}

// The EHR may take a document as its raw bytes (Accept:
// application/octet-stream) with the metadata in X-HIE-Document; gateways
// pass the content between them the same way. Refusals stay JSON.
TEST_F(Network, RawDocumentsAndAGatewayThatKeepsNoCopies) {
  auto a = make(kA);
  auto b = make(kB);
  auto c = make(kC, "", "cache_max_bytes = 0\n");  // asks B every time
  for (const auto* gw : {a.get(), c.get()}) register_user(*gw, "dr-sato", "physician");
  register_user(*b, "clerk-1", "clerk");
  std::string pdf = "%PDF-1.7\n";
  for (int i = 0; i < 70'000; ++i) pdf.push_back(static_cast<char>(i * 31 % 256));  // every byte value, > 64 KiB
  const json meta = {{"patient", "NT-0009"},           {"type", "referral"},
                     {"title", "診療情報提供書"},         {"created", "2026-11-20T10:00:00Z"},
                     {"content_type", "application/pdf"}, {"content_base64", crypto::to_base64(crypto::as_bytes(pdf))}};
  ASSERT_EQ(b->call("PUT", "/v1/documents/b-pdf", {{"X-HIE-User", "clerk-1"}}, meta.dump()).status, 200);
  consent(*b, "NT-0009", "2025-04-01");
  auto raw = [](std::map<std::string, std::string> h) {
    h["Accept"] = "application/octet-stream";
    return h;
  };
  auto header_meta = [](const HttpResult& r) {
    const auto it = r.headers.find("x-hie-document");
    if (it == r.headers.end()) return json();
    const auto bytes = crypto::from_base64(it->second);
    return bytes ? json::parse(bytes->begin(), bytes->end(), nullptr, false) : json();
  };
  const std::string path = std::string("/v1/facilities/") + kB + "/documents/b-pdf";
  for (const bool cached : {false, true}) {
    const auto r = a->call("GET", path, raw(as("dr-sato")));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.headers.at("content-type"), "application/octet-stream");
    EXPECT_TRUE(r.body == pdf) << "content differs, " << r.body.size() << " bytes";
    const json m = header_meta(r);
    EXPECT_EQ(m["id"], "b-pdf");
    EXPECT_EQ(m["facility"], kB);
    EXPECT_EQ(m["content_type"], "application/pdf");
    EXPECT_EQ(m["title"], "診療情報提供書");
    EXPECT_EQ(m["size"], pdf.size());
    EXPECT_EQ(m["cached"], cached) << m.dump();
    EXPECT_FALSE(m.contains("content_base64"));
  }
  // Without the Accept: the same document as JSON with base64 content.
  const auto j = a->call("GET", path, as("dr-sato"));
  ASSERT_EQ(j.status, 200);
  const auto b64 = crypto::from_base64(json::parse(j.body)["content_base64"].get<std::string>());
  ASSERT_TRUE(b64);
  EXPECT_TRUE(std::string(b64->begin(), b64->end()) == pdf);
  // The holding facility's own EHR reads it raw too.
  const auto own = b->call("GET", "/v1/documents/b-pdf", raw({{"X-HIE-User", "clerk-1"}}));
  ASSERT_EQ(own.status, 200);
  EXPECT_TRUE(own.body == pdf);
  EXPECT_EQ(header_meta(own)["patient"], "NT-0009");
  // ...as a registered, active user, and every read is audited with the
  // document's patient, like the publication before it.
  const auto anonymous = b->call("GET", "/v1/documents/b-pdf", raw({}));
  EXPECT_EQ(anonymous.status, 400);
  EXPECT_EQ(json::parse(anonymous.body)["error"]["code"], "invalid_user");
  ASSERT_EQ(b->put_user("clerk-2", json{{"role", "clerk"}, {"active", false}}.dump()).status, 200);
  const auto inactive = b->call("GET", "/v1/documents/b-pdf", raw({{"X-HIE-User", "clerk-2"}}));
  EXPECT_EQ(inactive.status, 403) << inactive.body;
  // A user deactivated right after a request is refused at once: users are
  // kept opened in memory, and their write drops them before it answers.
  const json clerk = {{"role", "clerk"}, {"department", "医事課"}};
  json inactive_clerk = clerk;
  inactive_clerk["active"] = false;
  ASSERT_EQ(b->put_user("clerk-1", inactive_clerk.dump()).status, 200);
  EXPECT_EQ(b->call("GET", "/v1/documents/b-pdf", raw({{"X-HIE-User", "clerk-1"}})).status, 403);
  ASSERT_EQ(b->put_user("clerk-1", clerk.dump()).status, 200);
  EXPECT_EQ(b->call("GET", "/v1/documents/b-pdf", raw({{"X-HIE-User", "clerk-1"}})).status, 200);
  const auto report = run({binary("hiegatectl").string(), "audit", "report", "--patient", "NT-0009", "--state-dir",
                           (b->dir() / "state").string(), "--key", (b->dir() / "master-key").string()});
  ASSERT_EQ(report.status, 0) << report.output;
  for (const char* event : {"document_publish", "document_read_local", "consent_register"}) {
    EXPECT_NE(report.output.find(event), std::string::npos) << event << "\n" << report.output;
  }
  EXPECT_NE(report.output.find(std::string(kB) + "/clerk-2"), std::string::npos) << report.output;  // the refusal too
  // A gateway that keeps no copies asks B every time.
  for (int i = 0; i < 2; ++i) {
    const auto r = c->call("GET", path, raw(as("dr-sato")));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_TRUE(r.body == pdf);
    EXPECT_EQ(header_meta(r)["cached"], false);
  }
  // A refusal is JSON whatever the Accept.
  ASSERT_EQ(b->call("DELETE", "/v1/consents/NT-0009", {{"X-HIE-User", "clerk-1"}}).status, 200);
  for (const auto* gw : {a.get(), c.get()}) {
    const auto r = gw->call("GET", path, raw(as("dr-sato")));
    EXPECT_EQ(r.status, 403) << r.body;
    EXPECT_EQ(json::parse(r.body)["error"]["code"], "consent_withdrawn");
    EXPECT_EQ(r.headers.count("x-hie-document"), 0U);
  }
}

TEST_F(Network, BadInputIsRefusedCleanly) {
  auto a = make(kA);
  register_user(*a, "dr-sato", "physician");
  const std::vector<std::string> bads = {"/v1/patients/..%2Fetc/documents", "/v1/patients/a%2Fb/documents",
                                        "/v1/patients/" + std::string(300, 'x') + "/documents",
                                        "/v1/patients/%E5%B1%B1%E7%94%B0/documents"};
  for (const std::string& bad : bads) {
    const auto r = a->call("GET", bad, as("dr-sato"));
    EXPECT_EQ(r.status, 400) << bad << " " << r.body;
  }
  EXPECT_EQ(a->call("GET", "/v1/patients/NT-1/documents", {}).status, 400);  // no user
  EXPECT_EQ(json::parse(a->call("GET", "/v1/patients/NT-1/documents", as("nobody")).body)["error"]["code"],
            "unknown_user");
  EXPECT_EQ(json::parse(a->call("GET", "/v1/patients/NT-1/documents", as("dr-sato", "research")).body)["error"]["code"],
            "invalid_purpose");
  EXPECT_EQ(a->call("GET", std::string("/v1/facilities/") + kB + "/documents/..", as("dr-sato")).status, 400);
  EXPECT_EQ(a->call("GET", "/v1/facilities/12/documents/x", as("dr-sato")).status, 400);
  // Publishing an executable under a PDF label, or junk, is refused.
  const json exe = {{"patient", "NT-1"}, {"type", "summary"}, {"created", "2026-11-20T10:00:00Z"},
                    {"content_type", "application/pdf"}, {"content_base64", crypto::to_base64(crypto::as_bytes("MZ\x90"))}};
  register_user(*a, "clerk-1", "clerk");
  const auto p = a->call("PUT", "/v1/documents/x-1", {{"X-HIE-User", "clerk-1"}}, exe.dump());
  EXPECT_EQ(p.status, 415) << p.body;
  EXPECT_EQ(json::parse(p.body)["error"]["code"], "content_forbidden");
}

}  // namespace
}  // namespace hiegate::test
