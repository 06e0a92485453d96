// Table-driven export decisions under the default rules: every kind × role ×
// approval × document origin × quota, one row per case, then the rules that
// the table does not cover (operating mode, media denied, third-party
// grounds, approval scope, watermark and deadline).
#include <gtest/gtest.h>

#include "export_fixtures.hpp"

namespace hiegate::policy {
namespace {

using namespace testing;
using K = ExportKind;

constexpr bool kApproved = true, kNoApproval = false;
constexpr bool kRemote = true, kLocal = false;
constexpr bool kQuotaReached = true, kQuotaLeft = false;

struct Row {
  ExportKind kind;
  const char* role;
  bool approval;
  bool remote;
  bool quota_reached;
  const char* expected;  // refusal code, "" = allowed
};

// Default rules: media {physician} + approval; print {physician, nurse,
// pharmacist, clerk}; secondary_use {physician, researcher} + approval;
// third_party {physician, clerk} + approval. No remote documents for any kind.
// Checks run: roles, remote documents, approval, quota.
const Row kRows[] = {
    {K::media, "physician", kNoApproval, kLocal, kQuotaLeft, "approval_required"},
    {K::media, "physician", kNoApproval, kLocal, kQuotaReached, "approval_required"},
    {K::media, "physician", kNoApproval, kRemote, kQuotaLeft, "remote_document_not_exportable"},
    {K::media, "physician", kNoApproval, kRemote, kQuotaReached, "remote_document_not_exportable"},
    {K::media, "physician", kApproved, kLocal, kQuotaLeft, ""},
    {K::media, "physician", kApproved, kLocal, kQuotaReached, "quota_exceeded"},
    {K::media, "physician", kApproved, kRemote, kQuotaLeft, "remote_document_not_exportable"},
    {K::media, "physician", kApproved, kRemote, kQuotaReached, "remote_document_not_exportable"},
    {K::media, "nurse", kNoApproval, kLocal, kQuotaLeft, "role_not_allowed"},
    {K::media, "nurse", kNoApproval, kLocal, kQuotaReached, "role_not_allowed"},
    {K::media, "nurse", kNoApproval, kRemote, kQuotaLeft, "role_not_allowed"},
    {K::media, "nurse", kNoApproval, kRemote, kQuotaReached, "role_not_allowed"},
    {K::media, "nurse", kApproved, kLocal, kQuotaLeft, "role_not_allowed"},
    {K::media, "nurse", kApproved, kLocal, kQuotaReached, "role_not_allowed"},
    {K::media, "nurse", kApproved, kRemote, kQuotaLeft, "role_not_allowed"},
    {K::media, "nurse", kApproved, kRemote, kQuotaReached, "role_not_allowed"},
    {K::media, "clerk", kNoApproval, kLocal, kQuotaLeft, "role_not_allowed"},
    {K::media, "clerk", kNoApproval, kLocal, kQuotaReached, "role_not_allowed"},
    {K::media, "clerk", kNoApproval, kRemote, kQuotaLeft, "role_not_allowed"},
    {K::media, "clerk", kNoApproval, kRemote, kQuotaReached, "role_not_allowed"},
    {K::media, "clerk", kApproved, kLocal, kQuotaLeft, "role_not_allowed"},
    {K::media, "clerk", kApproved, kLocal, kQuotaReached, "role_not_allowed"},
    {K::media, "clerk", kApproved, kRemote, kQuotaLeft, "role_not_allowed"},
    {K::media, "clerk", kApproved, kRemote, kQuotaReached, "role_not_allowed"},
    {K::media, "researcher", kNoApproval, kLocal, kQuotaLeft, "role_not_allowed"},
    {K::media, "researcher", kNoApproval, kLocal, kQuotaReached, "role_not_allowed"},
    {K::media, "researcher", kNoApproval, kRemote, kQuotaLeft, "role_not_allowed"},
    {K::media, "researcher", kNoApproval, kRemote, kQuotaReached, "role_not_allowed"},
    {K::media, "researcher", kApproved, kLocal, kQuotaLeft, "role_not_allowed"},
    {K::media, "researcher", kApproved, kLocal, kQuotaReached, "role_not_allowed"},
    {K::media, "researcher", kApproved, kRemote, kQuotaLeft, "role_not_allowed"},
    {K::media, "researcher", kApproved, kRemote, kQuotaReached, "role_not_allowed"},
    {K::print, "physician", kNoApproval, kLocal, kQuotaLeft, ""},
    {K::print, "physician", kNoApproval, kLocal, kQuotaReached, "quota_exceeded"},
    {K::print, "physician", kNoApproval, kRemote, kQuotaLeft, "remote_document_not_exportable"},
    {K::print, "physician", kNoApproval, kRemote, kQuotaReached, "remote_document_not_exportable"},
    {K::print, "physician", kApproved, kLocal, kQuotaLeft, ""},
    {K::print, "physician", kApproved, kLocal, kQuotaReached, "quota_exceeded"},
    {K::print, "physician", kApproved, kRemote, kQuotaLeft, "remote_document_not_exportable"},
    {K::print, "physician", kApproved, kRemote, kQuotaReached, "remote_document_not_exportable"},
    {K::print, "nurse", kNoApproval, kLocal, kQuotaLeft, ""},
    {K::print, "nurse", kNoApproval, kLocal, kQuotaReached, "quota_exceeded"},
    {K::print, "nurse", kNoApproval, kRemote, kQuotaLeft, "remote_document_not_exportable"},
    {K::print, "nurse", kNoApproval, kRemote, kQuotaReached, "remote_document_not_exportable"},
    {K::print, "nurse", kApproved, kLocal, kQuotaLeft, ""},
    {K::print, "nurse", kApproved, kLocal, kQuotaReached, "quota_exceeded"},
    {K::print, "nurse", kApproved, kRemote, kQuotaLeft, "remote_document_not_exportable"},
    {K::print, "nurse", kApproved, kRemote, kQuotaReached, "remote_document_not_exportable"},
    {K::print, "clerk", kNoApproval, kLocal, kQuotaLeft, ""},
    {K::print, "clerk", kNoApproval, kLocal, kQuotaReached, "quota_exceeded"},
    {K::print, "clerk", kNoApproval, kRemote, kQuotaLeft, "remote_document_not_exportable"},
    {K::print, "clerk", kNoApproval, kRemote, kQuotaReached, "remote_document_not_exportable"},
    {K::print, "clerk", kApproved, kLocal, kQuotaLeft, ""},
    {K::print, "clerk", kApproved, kLocal, kQuotaReached, "quota_exceeded"},
    {K::print, "clerk", kApproved, kRemote, kQuotaLeft, "remote_document_not_exportable"},
    {K::print, "clerk", kApproved, kRemote, kQuotaReached, "remote_document_not_exportable"},
    {K::print, "researcher", kNoApproval, kLocal, kQuotaLeft, "role_not_allowed"},
    {K::print, "researcher", kNoApproval, kLocal, kQuotaReached, "role_not_allowed"},
    {K::print, "researcher", kNoApproval, kRemote, kQuotaLeft, "role_not_allowed"},
    {K::print, "researcher", kNoApproval, kRemote, kQuotaReached, "role_not_allowed"},
    {K::print, "researcher", kApproved, kLocal, kQuotaLeft, "role_not_allowed"},
    {K::print, "researcher", kApproved, kLocal, kQuotaReached, "role_not_allowed"},
    {K::print, "researcher", kApproved, kRemote, kQuotaLeft, "role_not_allowed"},
    {K::print, "researcher", kApproved, kRemote, kQuotaReached, "role_not_allowed"},
    {K::secondary_use, "physician", kNoApproval, kLocal, kQuotaLeft, "approval_required"},
    {K::secondary_use, "physician", kNoApproval, kLocal, kQuotaReached, "approval_required"},
    {K::secondary_use, "physician", kNoApproval, kRemote, kQuotaLeft, "remote_document_not_exportable"},
    {K::secondary_use, "physician", kNoApproval, kRemote, kQuotaReached, "remote_document_not_exportable"},
    {K::secondary_use, "physician", kApproved, kLocal, kQuotaLeft, ""},
    {K::secondary_use, "physician", kApproved, kLocal, kQuotaReached, "quota_exceeded"},
    {K::secondary_use, "physician", kApproved, kRemote, kQuotaLeft, "remote_document_not_exportable"},
    {K::secondary_use, "physician", kApproved, kRemote, kQuotaReached, "remote_document_not_exportable"},
    {K::secondary_use, "nurse", kNoApproval, kLocal, kQuotaLeft, "role_not_allowed"},
    {K::secondary_use, "nurse", kNoApproval, kLocal, kQuotaReached, "role_not_allowed"},
    {K::secondary_use, "nurse", kNoApproval, kRemote, kQuotaLeft, "role_not_allowed"},
    {K::secondary_use, "nurse", kNoApproval, kRemote, kQuotaReached, "role_not_allowed"},
    {K::secondary_use, "nurse", kApproved, kLocal, kQuotaLeft, "role_not_allowed"},
    {K::secondary_use, "nurse", kApproved, kLocal, kQuotaReached, "role_not_allowed"},
    {K::secondary_use, "nurse", kApproved, kRemote, kQuotaLeft, "role_not_allowed"},
    {K::secondary_use, "nurse", kApproved, kRemote, kQuotaReached, "role_not_allowed"},
    {K::secondary_use, "clerk", kNoApproval, kLocal, kQuotaLeft, "role_not_allowed"},
    {K::secondary_use, "clerk", kNoApproval, kLocal, kQuotaReached, "role_not_allowed"},
    {K::secondary_use, "clerk", kNoApproval, kRemote, kQuotaLeft, "role_not_allowed"},
    {K::secondary_use, "clerk", kNoApproval, kRemote, kQuotaReached, "role_not_allowed"},
    {K::secondary_use, "clerk", kApproved, kLocal, kQuotaLeft, "role_not_allowed"},
    {K::secondary_use, "clerk", kApproved, kLocal, kQuotaReached, "role_not_allowed"},
    {K::secondary_use, "clerk", kApproved, kRemote, kQuotaLeft, "role_not_allowed"},
    {K::secondary_use, "clerk", kApproved, kRemote, kQuotaReached, "role_not_allowed"},
    {K::secondary_use, "researcher", kNoApproval, kLocal, kQuotaLeft, "approval_required"},
    {K::secondary_use, "researcher", kNoApproval, kLocal, kQuotaReached, "approval_required"},
    {K::secondary_use, "researcher", kNoApproval, kRemote, kQuotaLeft, "remote_document_not_exportable"},
    {K::secondary_use, "researcher", kNoApproval, kRemote, kQuotaReached, "remote_document_not_exportable"},
    {K::secondary_use, "researcher", kApproved, kLocal, kQuotaLeft, ""},
    {K::secondary_use, "researcher", kApproved, kLocal, kQuotaReached, "quota_exceeded"},
    {K::secondary_use, "researcher", kApproved, kRemote, kQuotaLeft, "remote_document_not_exportable"},
    {K::secondary_use, "researcher", kApproved, kRemote, kQuotaReached, "remote_document_not_exportable"},
    {K::third_party, "physician", kNoApproval, kLocal, kQuotaLeft, "approval_required"},
    {K::third_party, "physician", kNoApproval, kLocal, kQuotaReached, "approval_required"},
    {K::third_party, "physician", kNoApproval, kRemote, kQuotaLeft, "remote_document_not_exportable"},
    {K::third_party, "physician", kNoApproval, kRemote, kQuotaReached, "remote_document_not_exportable"},
    {K::third_party, "physician", kApproved, kLocal, kQuotaLeft, ""},
    {K::third_party, "physician", kApproved, kLocal, kQuotaReached, "quota_exceeded"},
    {K::third_party, "physician", kApproved, kRemote, kQuotaLeft, "remote_document_not_exportable"},
    {K::third_party, "physician", kApproved, kRemote, kQuotaReached, "remote_document_not_exportable"},
    {K::third_party, "nurse", kNoApproval, kLocal, kQuotaLeft, "role_not_allowed"},
    {K::third_party, "nurse", kNoApproval, kLocal, kQuotaReached, "role_not_allowed"},
    {K::third_party, "nurse", kNoApproval, kRemote, kQuotaLeft, "role_not_allowed"},
    {K::third_party, "nurse", kNoApproval, kRemote, kQuotaReached, "role_not_allowed"},
    {K::third_party, "nurse", kApproved, kLocal, kQuotaLeft, "role_not_allowed"},
    {K::third_party, "nurse", kApproved, kLocal, kQuotaReached, "role_not_allowed"},
    {K::third_party, "nurse", kApproved, kRemote, kQuotaLeft, "role_not_allowed"},
    {K::third_party, "nurse", kApproved, kRemote, kQuotaReached, "role_not_allowed"},
    {K::third_party, "clerk", kNoApproval, kLocal, kQuotaLeft, "approval_required"},
    {K::third_party, "clerk", kNoApproval, kLocal, kQuotaReached, "approval_required"},
    {K::third_party, "clerk", kNoApproval, kRemote, kQuotaLeft, "remote_document_not_exportable"},
    {K::third_party, "clerk", kNoApproval, kRemote, kQuotaReached, "remote_document_not_exportable"},
    {K::third_party, "clerk", kApproved, kLocal, kQuotaLeft, ""},
    {K::third_party, "clerk", kApproved, kLocal, kQuotaReached, "quota_exceeded"},
    {K::third_party, "clerk", kApproved, kRemote, kQuotaLeft, "remote_document_not_exportable"},
    {K::third_party, "clerk", kApproved, kRemote, kQuotaReached, "remote_document_not_exportable"},
    {K::third_party, "researcher", kNoApproval, kLocal, kQuotaLeft, "role_not_allowed"},
    {K::third_party, "researcher", kNoApproval, kLocal, kQuotaReached, "role_not_allowed"},
    {K::third_party, "researcher", kNoApproval, kRemote, kQuotaLeft, "role_not_allowed"},
    {K::third_party, "researcher", kNoApproval, kRemote, kQuotaReached, "role_not_allowed"},
    {K::third_party, "researcher", kApproved, kLocal, kQuotaLeft, "role_not_allowed"},
    {K::third_party, "researcher", kApproved, kLocal, kQuotaReached, "role_not_allowed"},
    {K::third_party, "researcher", kApproved, kRemote, kQuotaLeft, "role_not_allowed"},
    {K::third_party, "researcher", kApproved, kRemote, kQuotaReached, "role_not_allowed"},
};

std::string describe(const Row& r) {
  return std::string(name(r.kind)) + "/" + r.role + (r.approval ? "/approved" : "/no-approval") +
         (r.remote ? "/remote" : "/local") + (r.quota_reached ? "/quota-reached" : "/quota-left");
}

TEST(ExportDecisionTable, EveryKindRoleApprovalOriginQuota) {
  const ExportPolicy policy = default_policy();
  for (const Row& row : kRows) {
    SCOPED_TRACE(describe(row));
    ExportRequest req = request_for(row.kind, row.role);
    if (row.approval) req.approval = approval_for(row.kind);
    if (row.remote) req.documents.push_back({"doc-2", kOtherFacility});
    req.used_today = row.quota_reached ? policy.rules().rules(row.kind).daily_quota : 0;
    const ExportDecision d = decide_export(req, policy, FunctionSet::all(), now());
    EXPECT_EQ(d.code, row.expected) << d.message;
    EXPECT_EQ(d.allowed, std::string(row.expected).empty());
    EXPECT_FALSE(d.rule.empty());
    if (d.allowed) {
      EXPECT_EQ(d.rule, "export." + std::string(name(row.kind)));
      EXPECT_EQ(d.delete_by, now() + std::chrono::hours(72));
      EXPECT_EQ(d.approval_id.has_value(), row.approval);
      EXPECT_EQ(d.deidentify, row.kind == K::secondary_use);
      EXPECT_EQ(d.quota_remaining, policy.rules().rules(row.kind).daily_quota - 1);
    }
  }
}

TEST(ExportDecisionTable, RuleNamesOfRefusals) {
  const ExportPolicy policy = default_policy();
  ExportRequest req = request_for(K::media, "nurse");
  EXPECT_EQ(decide_export(req, policy, FunctionSet::all(), now()).rule, "export.roles");
  req = request_for(K::media, "physician");
  EXPECT_EQ(decide_export(req, policy, FunctionSet::all(), now()).rule, "export.approval");
  req.approval = approval_for(K::media);
  req.used_today = 5;
  EXPECT_EQ(decide_export(req, policy, FunctionSet::all(), now()).rule, "export.quota");
  req.used_today = 4;
  const ExportDecision d = decide_export(req, policy, FunctionSet::all(), now());
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.quota_remaining, 0U);
}

TEST(ExportDecision, OperatingModeRestrictsTheNeededFunction) {
  const ExportPolicy policy = default_policy();
  const FunctionSet no_export = FunctionSet::all().erase(Function::export_);
  const FunctionSet no_print = FunctionSet::all().erase(Function::print);
  for (ExportKind k : kAllExportKinds) {
    SCOPED_TRACE(std::string(name(k)));
    ExportRequest req = request_for(k, "physician");
    req.approval = approval_for(k);
    const FunctionSet blocking = k == K::print ? no_print : no_export;
    const FunctionSet other = k == K::print ? no_export : no_print;
    const ExportDecision refused = decide_export(req, policy, blocking, now());
    EXPECT_EQ(refused.code, "function_restricted");
    EXPECT_EQ(refused.rule, "export.function");
    EXPECT_TRUE(decide_export(req, policy, other, now()).allowed);
  }
  EXPECT_EQ(decide_export(request_for(K::print, "nurse"), policy, FunctionSet::none(), now()).code,
            "function_restricted");
}

TEST(ExportDecision, MediaDeniedEvenWithApproval) {
  ExportRules rules;
  rules.media = MediaMode::denied;
  const ExportPolicy policy = ExportPolicy::create(rules).value();
  ExportRequest req = request_for(K::media, "physician");
  req.approval = approval_for(K::media);
  const ExportDecision d = decide_export(req, policy, FunctionSet::all(), now());
  EXPECT_EQ(d.code, "media_export_denied");
  EXPECT_EQ(d.rule, "export.media_mode");
}

TEST(ExportDecision, ConfiguredPrintApprovalAndRemoteDocuments) {
  ExportRules rules;
  rules.rules(K::print).approval_required = true;
  rules.rules(K::print).remote_documents = true;
  const ExportPolicy policy = ExportPolicy::create(rules).value();
  ExportRequest req = request_for(K::print, "nurse");
  req.documents.push_back({"doc-2", kOtherFacility});
  EXPECT_EQ(decide_export(req, policy, FunctionSet::all(), now()).code, "approval_required");
  req.approval = approval_for(K::print);
  EXPECT_TRUE(decide_export(req, policy, FunctionSet::all(), now()).allowed);
}

TEST(ExportDecision, WatermarkAndDeadlineFromConfig) {
  ExportRules rules;
  rules.watermark = "CONFIDENTIAL {{{kind}}} {facility}/{user} {time} #{ticket} until {delete_by}";
  rules.delete_after = std::chrono::hours(24);
  const ExportPolicy policy = ExportPolicy::create(rules).value();
  const ExportDecision d = decide_export(request_for(K::print, "nurse"), policy, FunctionSet::all(), now());
  ASSERT_TRUE(d.allowed) << d.message;
  EXPECT_EQ(d.watermark,
            "CONFIDENTIAL {print} 1310000001/1310000001/dr.sato 2026-05-01T01:00:00Z #T-20260501-0001 until "
            "2026-05-02T01:00:00Z");
  EXPECT_EQ(d.delete_by, at("2026-05-02T01:00:00Z"));
}

TEST(ExportDecision, MalformedRequestsAreRefused) {
  const ExportPolicy policy = default_policy();
  auto code = [&](ExportRequest r) { return decide_export(r, policy, FunctionSet::all(), now()).code; };
  ExportRequest r = request_for(K::print, "nurse");
  r.documents.clear();
  EXPECT_EQ(code(r), "invalid_request");
  r = request_for(K::print, "nurse");
  r.documents.push_back({"doc-1", kFacility});
  EXPECT_EQ(code(r), "invalid_request");
  r = request_for(K::print, "nurse");
  r.patient = "P 1";
  EXPECT_EQ(code(r), "invalid_request");
  r = request_for(K::print, "nurse");
  r.purpose.clear();
  EXPECT_EQ(code(r), "invalid_request");
  r = request_for(K::print, "nurse");
  r.ticket = "bad ticket";
  EXPECT_EQ(code(r), "invalid_request");
  r = request_for(K::third_party, "clerk");
  r.third_party.recipient.clear();
  EXPECT_EQ(code(r), "invalid_request");
}

TEST(ExportDecision, ThirdPartyNeedsConsentOrLegalBasisWithJustification) {
  const ExportPolicy policy = default_policy();
  ExportRequest req = request_for(K::third_party, "clerk");
  req.approval = approval_for(K::third_party);
  ExportDecision d = decide_export(req, policy, FunctionSet::all(), now());
  ASSERT_TRUE(d.allowed) << d.message;
  EXPECT_EQ(d.third_party_basis, "consent");

  req.third_party.patient_consent = false;
  d = decide_export(req, policy, FunctionSet::all(), now());
  EXPECT_EQ(d.code, "legal_basis_required");
  EXPECT_EQ(d.rule, "export.third_party");

  req.third_party.basis = LegalBasis::public_health;
  req.third_party.justification = "がん登録   ";  // 5 visible characters
  EXPECT_EQ(decide_export(req, policy, FunctionSet::all(), now()).code, "legal_basis_required");

  req.third_party.justification = "地域がん登録事業への届出。本人は死亡しており同意の取得が困難。";
  d = decide_export(req, policy, FunctionSet::all(), now());
  ASSERT_TRUE(d.allowed) << d.message;
  EXPECT_EQ(d.third_party_basis, "public_health");

  for (const char* b : {"law", "vital_interest", "public_health", "public_agency"}) {
    req.third_party.basis = parse_legal_basis(b).value();
    EXPECT_EQ(decide_export(req, policy, FunctionSet::all(), now()).third_party_basis, b);
  }
  EXPECT_FALSE(parse_legal_basis("research"));
}

TEST(ExportDecision, BadApprovalRefusesEvenWhereNoneIsNeeded) {
  const ExportPolicy policy = default_policy();
  ExportRequest req = request_for(K::print, "nurse");
  req.approval = approval_for(K::print);
  req.approval->revoked_at = now() - std::chrono::minutes(5);
  EXPECT_EQ(decide_export(req, policy, FunctionSet::all(), now()).code, "approval_revoked");
}

TEST(ExportDecision, QuotaDayStartsAtLocalMidnight) {
  const ExportRules rules;  // UTC+9
  EXPECT_EQ(quota_day_start(at("2026-05-01T01:00:00Z"), rules), at("2026-04-30T15:00:00Z"));
  EXPECT_EQ(quota_day_start(at("2026-05-01T14:59:59Z"), rules), at("2026-04-30T15:00:00Z"));
  EXPECT_EQ(quota_day_start(at("2026-05-01T15:00:00Z"), rules), at("2026-05-01T15:00:00Z"));
}

}  // namespace
}  // namespace hiegate::policy
