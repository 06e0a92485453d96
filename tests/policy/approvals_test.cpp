// Granting, revoking and checking approvals (規程 第13条).
#include <gtest/gtest.h>

#include "export_fixtures.hpp"

namespace hiegate::policy {
namespace {

using namespace testing;
using std::chrono::hours;

const Actor kHead{kApprover, {"physician", std::string(kApproverRole)}};

ApprovalRequest media_request() {
  return {kRequester, kPatient, {"doc-2", "doc-1"}, ExportKind::media, "referral", now() + hours(24)};
}

TEST(GrantApproval, ByAnotherApproverWithinLimits) {
  const auto a = grant_approval(media_request(), kHead, "apr-9", default_policy(), now());
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(a->id, "apr-9");
  EXPECT_EQ(a->approver, kApprover);
  EXPECT_EQ(a->requester, kRequester);
  EXPECT_EQ(a->documents, (std::vector<std::string>{"doc-1", "doc-2"}));
  EXPECT_EQ(a->granted_at, now());
  EXPECT_EQ(a->valid_until, now() + hours(24));
  EXPECT_FALSE(a->revoked_at);
}

TEST(GrantApproval, Refusals) {
  const ExportPolicy policy = default_policy();
  struct Case {
    const char* what;
    ApprovalRequest req;
    Actor approver;
    const char* code;
  };
  auto req = [](auto change) {
    ApprovalRequest r = media_request();
    change(r);
    return r;
  };
  const Case cases[] = {
      {"approver lacks role", media_request(), Actor{kApprover, {"physician"}}, "role_not_allowed"},
      {"self approval", media_request(), Actor{kRequester, {"approver"}}, "self_approval"},
      {"no documents", req([](ApprovalRequest& r) { r.documents.clear(); }), kHead, "invalid_request"},
      {"duplicate document", req([](ApprovalRequest& r) { r.documents.push_back("doc-1"); }), kHead, "invalid_request"},
      {"bad document id", req([](ApprovalRequest& r) { r.documents = {"doc 1"}; }), kHead, "invalid_request"},
      {"bad patient", req([](ApprovalRequest& r) { r.patient = "../P"; }), kHead, "invalid_request"},
      {"bad requester", req([](ApprovalRequest& r) { r.requester = "sato"; }), kHead, "invalid_request"},
      {"empty purpose", req([](ApprovalRequest& r) { r.purpose.clear(); }), kHead, "invalid_request"},
      {"already expired", req([](ApprovalRequest& r) { r.valid_until = now(); }), kHead, "invalid_request"},
      {"too long", req([](ApprovalRequest& r) { r.valid_until = now() + hours(24 * 8); }), kHead, "invalid_request"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    const auto a = grant_approval(c.req, c.approver, "apr-1", policy, now());
    ASSERT_FALSE(a);
    EXPECT_EQ(a.error().code, c.code);
  }
}

TEST(GrantApproval, MediaApprovalRefusedWhenMediaIsDenied) {
  ExportRules rules;
  rules.media = MediaMode::denied;
  const auto a = grant_approval(media_request(), kHead, "apr-1", ExportPolicy::create(rules).value(), now());
  ASSERT_FALSE(a);
  EXPECT_EQ(a.error().code, "media_export_denied");
}

TEST(RevokeApproval, OnceByAnApprover) {
  const Approval a = approval_for(ExportKind::media);
  EXPECT_EQ(revoke_approval(a, Actor{kRequester, {"physician"}}, now()).error().code, "role_not_allowed");
  const auto revoked = revoke_approval(a, kHead, now());
  ASSERT_TRUE(revoked);
  EXPECT_EQ(revoked->revoked_at, now());
  EXPECT_EQ(revoke_approval(*revoked, kHead, now() + hours(1)).error().code, "approval_revoked");
}

struct UseCase {
  const char* what;
  std::string requester = kRequester;
  std::string patient = kPatient;
  std::vector<std::string> documents = {"doc-1"};
  ExportKind kind = ExportKind::media;
  std::string purpose = "referral";
  Time at = now();
  const char* code = "";  // "" = covered
};

TEST(CheckApproval, ScopeTimeAndRevocation) {
  const Approval a = approval_for(ExportKind::media);
  const UseCase cases[] = {
      {.what = "one covered document"},
      {.what = "all covered documents", .documents = {"doc-2", "doc-1"}},
      {.what = "reused later inside validity", .at = now() + hours(22)},
      {.what = "another patient", .patient = "P-0002", .code = "approval_invalid"},
      {.what = "document not covered", .documents = {"doc-1", "doc-3"}, .code = "approval_invalid"},
      {.what = "other kind", .kind = ExportKind::print, .code = "approval_invalid"},
      {.what = "other requester", .requester = "1310000001/dr.ito", .code = "approval_invalid"},
      {.what = "other purpose", .purpose = "research", .code = "approval_invalid"},
      {.what = "no documents", .documents = {}, .code = "approval_invalid"},
      {.what = "before it was granted", .at = now() - hours(2), .code = "approval_invalid"},
      {.what = "at valid_until", .at = now() + hours(23), .code = "approval_expired"},
      {.what = "after valid_until", .at = now() + hours(48), .code = "approval_expired"},
  };
  for (const UseCase& c : cases) {
    SCOPED_TRACE(c.what);
    const Status s = check_approval(a, {c.requester, c.patient, &c.documents, c.kind, c.purpose}, c.at);
    EXPECT_EQ(s.ok() ? std::string() : s.error().code, c.code);
  }
}

TEST(CheckApproval, RevokedAndSelfGrantedRecords) {
  const std::vector<std::string> docs = {"doc-1"};
  const ApprovalUse use{kRequester, kPatient, &docs, ExportKind::media, "referral"};
  Approval a = approval_for(ExportKind::media);
  a.revoked_at = now() + hours(1);
  EXPECT_TRUE(check_approval(a, use, now()));  // revocation takes effect at its time
  EXPECT_EQ(check_approval(a, use, now() + hours(1)).error().code, "approval_revoked");

  Approval self = approval_for(ExportKind::media);
  self.approver = kRequester;
  EXPECT_EQ(check_approval(self, use, now()).error().code, "self_approval");
}

TEST(CheckApproval, ThroughTheExportDecision) {
  const ExportPolicy policy = default_policy();
  ExportRequest req = request_for(ExportKind::secondary_use, "researcher");
  req.approval = approval_for(ExportKind::secondary_use);
  req.approval->patient = "P-0002";
  ExportDecision d = decide_export(req, policy, FunctionSet::all(), now());
  EXPECT_EQ(d.code, "approval_invalid");
  EXPECT_EQ(d.rule, "export.approval");
  req.approval = approval_for(ExportKind::secondary_use);
  d = decide_export(req, policy, FunctionSet::all(), now() + hours(24));
  EXPECT_EQ(d.code, "approval_expired");
  req.approval->approver = kRequester;
  EXPECT_EQ(decide_export(req, policy, FunctionSet::all(), now()).code, "self_approval");
}

}  // namespace
}  // namespace hiegate::policy
