// The decision on one export, print, secondary-use or third-party request.
//
// decide_export() is a pure function of the request, the policy snapshot, the
// operating mode (functions the secretariat's orders allow) and the time. It
// fails closed and always names the rule that decided. The daemon counts the
// user's exports of the day (quota_day_start), loads the approval named by
// the request, calls this, audits the decision, and on success records the
// export ticket with delete_by.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hiegate/policy/actor.hpp"
#include "hiegate/policy/approvals.hpp"
#include "hiegate/policy/export_rules.hpp"
#include "hiegate/policy/functions.hpp"
#include "hiegate/policy/rfc3339.hpp"

namespace hiegate::policy {

/// 規程 第19条各号: provision to a third party without the patient's consent.
enum class LegalBasis : std::uint8_t {
  law,             ///< (1) legal duty to notify or report
  vital_interest,  ///< (2) patient unconscious or lacking capacity, needed for care
  public_health,   ///< (3) public health or child protection, consent hard to obtain
  public_agency,   ///< (4) cooperation with a state or local agency under law
};
[[nodiscard]] std::string_view name(LegalBasis b) noexcept;
[[nodiscard]] std::optional<LegalBasis> parse_legal_basis(std::string_view s) noexcept;

struct ExportDocument {
  std::string id;
  std::string facility;  ///< facility code the document came from
};

/// Grounds for kind third_party (規程 第18・19条, 利用規程 第12条).
struct ThirdPartyGround {
  /// The patient's consent covers provision to `recipient` (decided by the
  /// consent rules, passed in as a fact).
  bool patient_consent = false;
  std::optional<LegalBasis> basis;
  std::string justification;  ///< required with a basis, >= min_justification code points
  std::string recipient;      ///< who receives the data; required
};

struct ExportRequest {
  std::string facility;  ///< this gateway's facility code
  Actor actor;
  std::string patient;
  std::vector<ExportDocument> documents;
  ExportKind kind = ExportKind::media;
  std::string purpose;
  std::optional<Approval> approval;  ///< the approval the request names, as stored
  ThirdPartyGround third_party;      ///< kind third_party only
  std::string ticket;                ///< id the export will be recorded under
  /// Exports of this kind allowed to this user since quota_day_start(now).
  std::uint32_t used_today = 0;
};

struct ExportDecision {
  bool allowed = false;
  std::string rule;     ///< e.g. "export.approval"; always set
  std::string code;     ///< refusal code; empty when allowed
  std::string message;  ///< for the user and the audit; no patient data

  // Set only when allowed:
  std::string watermark;
  Time delete_by{};
  std::optional<std::string> approval_id;  ///< the approval that was relied on
  /// kind third_party: "consent" or the LegalBasis name; empty otherwise.
  std::string third_party_basis;
  /// kind secondary_use: the content must pass through deidentify() and is
  /// refused if that fails.
  bool deidentify = false;
  std::uint32_t quota_remaining = 0;
};

[[nodiscard]] ExportDecision decide_export(const ExportRequest& req, const ExportPolicy& policy,
                                           FunctionSet mode, Time now);

/// Start of the quota day containing `now` (local midnight at
/// rules.quota_day_offset), for counting used_today.
[[nodiscard]] Time quota_day_start(Time now, const ExportRules& rules);

}  // namespace hiegate::policy
