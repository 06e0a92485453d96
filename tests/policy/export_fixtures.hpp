// Shared values for the export policy tests.
#pragma once

#include <string>
#include <vector>

#include "hiegate/policy/exports.hpp"

namespace hiegate::policy::testing {

inline constexpr const char* kFacility = "1310000001";
inline constexpr const char* kOtherFacility = "1320000002";
inline constexpr const char* kRequester = "1310000001/dr.sato";
inline constexpr const char* kApprover = "1310000001/head.tanaka";
inline constexpr const char* kPatient = "P-0001";

inline Time at(const char* rfc3339) { return parse_rfc3339(rfc3339).value(); }
inline Time now() { return at("2026-05-01T01:00:00Z"); }

inline ExportPolicy default_policy() { return ExportPolicy::create(ExportRules{}).value(); }

/// An approval as the daemon would have stored it: granted an hour ago by
/// the approver, valid for a day, covering doc-1 and doc-2.
inline Approval approval_for(ExportKind kind, std::string purpose = "referral") {
  Approval a;
  a.id = "apr-1";
  a.approver = kApprover;
  a.requester = kRequester;
  a.patient = kPatient;
  a.documents = {"doc-1", "doc-2"};
  a.kind = kind;
  a.purpose = std::move(purpose);
  a.granted_at = now() - std::chrono::hours(1);
  a.valid_until = now() + std::chrono::hours(23);
  return a;
}

inline ExportRequest request_for(ExportKind kind, std::string role) {
  ExportRequest r;
  r.facility = kFacility;
  r.actor = Actor{kRequester, {std::move(role)}};
  r.patient = kPatient;
  r.documents = {{"doc-1", kFacility}};
  r.kind = kind;
  r.purpose = "referral";
  r.ticket = "T-20260501-0001";
  if (kind == ExportKind::third_party) {
    r.third_party.patient_consent = true;
    r.third_party.recipient = "Nishitama Care Center";
  }
  return r;
}

}  // namespace hiegate::policy::testing
