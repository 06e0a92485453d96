#include "hiegate/policy/exports.hpp"

#include <algorithm>
#include <array>
#include <set>

namespace hiegate::policy {
namespace {

ExportDecision refuse(std::string rule, std::string code, std::string message) {
  ExportDecision d;
  d.rule = std::move(rule);
  d.code = std::move(code);
  d.message = std::move(message);
  return d;
}

ExportDecision bad_request(std::string message) {
  return refuse("export.request", "invalid_request", std::move(message));
}

/// Code points, not counting ASCII white space.
std::size_t visible_length(std::string_view s) {
  return static_cast<std::size_t>(std::count_if(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return (u & 0xC0) != 0x80 && u != ' ' && u != '\t' && u != '\n' && u != '\r';
  }));
}

bool printable(std::string_view s, std::size_t max) {
  return !s.empty() && s.size() <= max &&
         std::none_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

/// Syntax of the request; nullopt when well-formed.
std::optional<ExportDecision> check_request(const ExportRequest& r) {
  if (!printable(r.facility, 64)) return bad_request("facility code missing");
  if (!is_user_id(r.actor.user)) return bad_request("malformed user id");
  if (!is_patient_id(r.patient)) return bad_request("malformed patient id");
  if (r.documents.empty() || r.documents.size() > 1000) return bad_request("an export names 1-1000 documents");
  std::set<std::string_view> seen;
  for (const ExportDocument& d : r.documents) {
    if (!is_document_id(d.id) || !printable(d.facility, 64)) return bad_request("malformed document reference");
    if (!seen.insert(d.id).second) return bad_request("duplicate document id");
  }
  if (!printable(r.purpose, 256)) return bad_request("purpose must be 1-256 printable bytes");
  if (!is_document_id(r.ticket)) return bad_request("malformed ticket id");
  if (r.kind == ExportKind::third_party) {
    if (!printable(r.third_party.recipient, 256)) return bad_request("a third-party export names its recipient");
    if (r.third_party.justification.size() > 4000) return bad_request("justification is longer than 4000 bytes");
  }
  return std::nullopt;
}

/// 規程 第18・19条: the ground a third-party export relies on, or a refusal.
Result<std::string> third_party_ground(const ThirdPartyGround& g, const ExportRules& rules) {
  if (g.patient_consent) return std::string("consent");
  if (!g.basis) {
    return make_error("legal_basis_required",
                      "third-party provision needs the patient's consent or a legal basis (規程 第19条)");
  }
  if (visible_length(g.justification) < rules.min_justification) {
    return make_error("legal_basis_required", "a legal basis needs a justification of at least " +
                                                  std::to_string(rules.min_justification) + " characters");
  }
  return std::string(name(*g.basis));
}

}  // namespace

std::string_view name(LegalBasis b) noexcept {
  switch (b) {
    case LegalBasis::law: return "law";
    case LegalBasis::vital_interest: return "vital_interest";
    case LegalBasis::public_health: return "public_health";
    case LegalBasis::public_agency: return "public_agency";
  }
  return "unknown";
}

std::optional<LegalBasis> parse_legal_basis(std::string_view s) noexcept {
  for (LegalBasis b : {LegalBasis::law, LegalBasis::vital_interest, LegalBasis::public_health,
                       LegalBasis::public_agency}) {
    if (name(b) == s) return b;
  }
  return std::nullopt;
}

ExportDecision decide_export(const ExportRequest& req, const ExportPolicy& policy, FunctionSet mode, Time now) {
  const ExportRules& rules = policy.rules();
  const KindRules& kind = rules.rules(req.kind);
  const std::string kind_name(name(req.kind));

  if (!mode.contains(required_function(req.kind))) {
    return refuse("export.function", "function_restricted",
                  std::string(name(required_function(req.kind))) + " is restricted by the secretariat's orders");
  }
  if (auto bad = check_request(req)) return *bad;
  if (req.kind == ExportKind::media && rules.media == MediaMode::denied) {
    return refuse("export.media_mode", "media_export_denied", "export to media is denied at this facility");
  }
  if (!std::any_of(kind.roles.begin(), kind.roles.end(), [&](const std::string& r) { return req.actor.has_role(r); })) {
    return refuse("export.roles", "role_not_allowed", "no role of this user may request " + kind_name);
  }
  if (!kind.remote_documents) {
    const bool remote = std::any_of(req.documents.begin(), req.documents.end(),
                                    [&](const ExportDocument& d) { return d.facility != req.facility; });
    if (remote) {
      return refuse("export.remote_documents", "remote_document_not_exportable",
                    "documents obtained from other facilities cannot be exported (利用規程 第7条2号)");
    }
  }
  std::string basis;
  if (req.kind == ExportKind::third_party) {
    auto g = third_party_ground(req.third_party, rules);
    if (!g) return refuse("export.third_party", g.error().code, g.error().message);
    basis = std::move(g).value();
  }
  // Media and secondary use always need one (規程 第13・17条), whatever a
  // rule set built without ExportPolicy::create says.
  const bool approval_needed =
      kind.approval_required || req.kind == ExportKind::secondary_use || req.kind == ExportKind::media;
  if (approval_needed && !req.approval) {
    return refuse("export.approval", "approval_required", kind_name + " needs an approval by an approver");
  }
  if (req.approval) {
    std::vector<std::string> ids;
    ids.reserve(req.documents.size());
    for (const ExportDocument& d : req.documents) ids.push_back(d.id);
    const ApprovalUse use{req.actor.user, req.patient, &ids, req.kind, req.purpose};
    if (Status s = check_approval(*req.approval, use, now); !s) {
      return refuse("export.approval", s.error().code, s.error().message);
    }
  }
  if (req.used_today >= kind.daily_quota) {
    return refuse("export.quota", "quota_exceeded",
                  "daily quota of " + std::to_string(kind.daily_quota) + " " + kind_name + " exports reached");
  }

  ExportDecision d;
  d.allowed = true;
  d.rule = "export." + kind_name;
  d.delete_by = now + rules.delete_after;
  const std::string time = format_rfc3339(now), delete_by = format_rfc3339(d.delete_by);
  d.watermark = policy.watermark().render({req.facility, req.actor.user, time, req.ticket, kind_name, delete_by});
  if (req.approval) d.approval_id = req.approval->id;
  d.third_party_basis = std::move(basis);
  d.deidentify = req.kind == ExportKind::secondary_use;
  d.quota_remaining = kind.daily_quota - req.used_today - 1;
  d.message = kind_name + " allowed";
  return d;
}

Time quota_day_start(Time now, const ExportRules& rules) {
  const auto local = now + rules.quota_day_offset;
  return std::chrono::floor<std::chrono::days>(local) - rules.quota_day_offset;
}

}  // namespace hiegate::policy
