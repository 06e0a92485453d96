// Approvals of exports (規程 第13条: copy-out only with the permission of the
// department head, given by another user holding the `approver` role).
//
// An approval is scoped: one requester, one patient, a set of documents, one
// export kind and purpose, until valid_until. It may be used for several
// exports inside that scope (the daily quota still applies) until it expires
// or is revoked. The daemon stores approvals; these functions only decide.
// Pure functions of values, thread-safe.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "hiegate/common/result.hpp"
#include "hiegate/policy/actor.hpp"
#include "hiegate/policy/export_rules.hpp"
#include "hiegate/policy/rfc3339.hpp"

namespace hiegate::policy {

struct Approval {
  std::string id;         ///< assigned by the daemon, unique
  std::string approver;   ///< user who granted it
  std::string requester;  ///< the only user who may use it
  std::string patient;
  std::vector<std::string> documents;  ///< sorted, no duplicates
  ExportKind kind = ExportKind::media;
  std::string purpose;
  Time granted_at{};
  Time valid_until{};
  std::optional<Time> revoked_at;
};

/// What an approver submits.
struct ApprovalRequest {
  std::string requester;
  std::string patient;
  std::vector<std::string> documents;
  ExportKind kind = ExportKind::media;
  std::string purpose;
  Time valid_until{};
};

/// Grants `req` on behalf of `approver`. Refusals (code):
///  - `role_not_allowed`: approver lacks the `approver` role;
///  - `self_approval`: approver is the requester;
///  - `media_export_denied`: kind media while media export is denied;
///  - `invalid_request`: malformed patient/user/document ids, no documents,
///    duplicates, empty purpose, valid_until not after `now` or beyond
///    approval_max_validity.
[[nodiscard]] Result<Approval> grant_approval(const ApprovalRequest& req, const Actor& approver,
                                              std::string id, const ExportPolicy& policy, Time now);

/// Revokes `a` at `now`. `by` must hold the approver role (`role_not_allowed`);
/// an already revoked approval stays revoked at its first time (`approval_revoked`).
[[nodiscard]] Result<Approval> revoke_approval(Approval a, const Actor& by, Time now);

/// What an export asks an approval to cover.
struct ApprovalUse {
  std::string_view requester;
  std::string_view patient;
  const std::vector<std::string>* documents = nullptr;  ///< required, non-null
  ExportKind kind = ExportKind::media;
  std::string_view purpose;
};

/// Checks that `a` covers `use` at `now`. Refusals (code):
///  - `approval_revoked`;
///  - `approval_expired`: now >= valid_until;
///  - `self_approval`: approver == requester (a forged or legacy record);
///  - `approval_invalid`: other patient, requester, kind or purpose, a
///    document not covered, or granted in the future.
[[nodiscard]] Status check_approval(const Approval& a, const ApprovalUse& use, Time now);

}  // namespace hiegate::policy
