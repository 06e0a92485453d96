#include "hiegate/policy/approvals.hpp"

#include <algorithm>

namespace hiegate::policy {
namespace {

Error invalid(std::string message) { return make_error("invalid_request", std::move(message)); }

}  // namespace

Result<Approval> grant_approval(const ApprovalRequest& req, const Actor& approver, std::string id,
                                const ExportPolicy& policy, Time now) {
  if (!approver.has_role(kApproverRole)) {
    return make_error("role_not_allowed", "granting an approval needs the approver role");
  }
  if (!is_user_id(approver.user) || !is_user_id(req.requester)) return invalid("malformed user id");
  if (approver.user == req.requester) {
    return make_error("self_approval", "an approval must be granted by someone other than the requester");
  }
  if (req.kind == ExportKind::media && policy.rules().media == MediaMode::denied) {
    return make_error("media_export_denied", "export to media is denied at this facility");
  }
  if (id.empty()) return invalid("approval id missing");
  if (!is_patient_id(req.patient)) return invalid("malformed patient id");
  if (req.documents.empty()) return invalid("an approval names at least one document");
  if (req.documents.size() > 1000) return invalid("an approval names at most 1000 documents");
  if (!std::all_of(req.documents.begin(), req.documents.end(), is_document_id)) {
    return invalid("malformed document id");
  }
  std::vector<std::string> docs = req.documents;
  std::sort(docs.begin(), docs.end());
  if (std::adjacent_find(docs.begin(), docs.end()) != docs.end()) return invalid("duplicate document id");
  if (req.purpose.empty() || req.purpose.size() > 256) return invalid("purpose must be 1-256 bytes");
  if (req.valid_until <= now) return invalid("valid_until must be in the future");
  if (req.valid_until - now > policy.rules().approval_max_validity) {
    return invalid("valid_until is beyond policy.export.approval_max_validity");
  }
  return Approval{std::move(id), approver.user, req.requester, req.patient, std::move(docs),
                  req.kind, req.purpose, now, req.valid_until, std::nullopt};
}

Result<Approval> revoke_approval(Approval a, const Actor& by, Time now) {
  if (!by.has_role(kApproverRole)) {
    return make_error("role_not_allowed", "revoking an approval needs the approver role");
  }
  if (a.revoked_at) return make_error("approval_revoked", "approval " + a.id + " is already revoked");
  a.revoked_at = now;
  return a;
}

Status check_approval(const Approval& a, const ApprovalUse& use, Time now) {
  if (a.revoked_at && *a.revoked_at <= now) {
    return make_error("approval_revoked", "approval " + a.id + " was revoked");
  }
  if (now >= a.valid_until) return make_error("approval_expired", "approval " + a.id + " has expired");
  if (a.approver.empty() || a.approver == a.requester) {
    return make_error("self_approval", "approval " + a.id + " was not granted by another user");
  }
  auto invalid_scope = [&](std::string_view what) {
    return make_error("approval_invalid", "approval " + a.id + " does not cover this " + std::string(what));
  };
  if (now < a.granted_at) return invalid_scope("time");
  if (a.requester != use.requester) return invalid_scope("requester");
  if (a.patient != use.patient) return invalid_scope("patient");
  if (a.kind != use.kind) return invalid_scope("export kind");
  if (a.purpose != use.purpose) return invalid_scope("purpose");
  if (use.documents == nullptr || use.documents->empty()) return invalid_scope("request (no documents)");
  for (const std::string& d : *use.documents) {
    if (std::find(a.documents.begin(), a.documents.end(), d) == a.documents.end()) {
      return invalid_scope("document");
    }
  }
  return {};
}

}  // namespace hiegate::policy
