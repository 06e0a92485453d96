#include "export_records.hpp"

#include <algorithm>

namespace hiegate::daemon {

using nlohmann::json;

namespace {
Error malformed() { return make_error("record_malformed", "a stored export record is malformed"); }

policy::Time time_of(const json& j, const char* key) {
  auto t = policy::parse_rfc3339(j.at(key).get<std::string>());
  if (!t) throw std::invalid_argument("bad time");
  return *t;
}
}  // namespace

json ticket_to_json(const ExportTicket& t) {
  json docs = json::array();
  for (const auto& d : t.documents) docs.push_back({{"id", d.id}, {"facility", d.facility}});
  json j = {{"ticket", t.id},
            {"user", t.user},
            {"patient", t.patient},
            {"documents", docs},
            {"kind", policy::name(t.kind)},
            {"purpose", t.purpose},
            {"watermark", t.watermark},
            {"created_at", policy::format_rfc3339(t.created_at)},
            {"delete_by", policy::format_rfc3339(t.delete_by)}};
  if (!t.approval.empty()) j["approval"] = t.approval;
  if (!t.third_party_basis.empty()) {
    j["third_party"] = {{"basis", t.third_party_basis}, {"recipient", t.recipient}};
    if (!t.justification.empty()) j["third_party"]["justification"] = t.justification;
    if (!t.consent_ref.empty()) j["third_party"]["consent"] = t.consent_ref;
  }
  if (t.deleted_at) {
    j["deleted_at"] = policy::format_rfc3339(*t.deleted_at);
    j["deleted_by"] = t.deleted_by;
  }
  return j;
}

Result<ExportTicket> ticket_from_json(const json& j) {
  try {
    ExportTicket t;
    t.id = j.at("ticket").get<std::string>();
    t.user = j.at("user").get<std::string>();
    t.patient = j.at("patient").get<std::string>();
    for (const auto& d : j.at("documents")) {
      t.documents.push_back({d.at("id").get<std::string>(), d.at("facility").get<std::string>()});
    }
    const auto kind = policy::parse_export_kind(j.at("kind").get<std::string>());
    if (!kind) return malformed();
    t.kind = *kind;
    t.purpose = j.at("purpose").get<std::string>();
    t.watermark = j.at("watermark").get<std::string>();
    t.created_at = time_of(j, "created_at");
    t.delete_by = time_of(j, "delete_by");
    t.approval = j.value("approval", std::string());
    if (j.contains("third_party")) {
      const json& tp = j.at("third_party");
      t.third_party_basis = tp.at("basis").get<std::string>();
      t.recipient = tp.at("recipient").get<std::string>();
      t.justification = tp.value("justification", std::string());
      t.consent_ref = tp.value("consent", std::string());
    }
    if (j.contains("deleted_at")) {
      t.deleted_at = time_of(j, "deleted_at");
      t.deleted_by = j.at("deleted_by").get<std::string>();
    }
    return t;
  } catch (const std::exception&) {
    return malformed();
  }
}

json approval_to_json(const policy::Approval& a) {
  json j = {{"id", a.id},
            {"approver", a.approver},
            {"requester", a.requester},
            {"patient", a.patient},
            {"documents", a.documents},
            {"kind", policy::name(a.kind)},
            {"purpose", a.purpose},
            {"granted_at", policy::format_rfc3339(a.granted_at)},
            {"valid_until", policy::format_rfc3339(a.valid_until)}};
  if (a.revoked_at) j["revoked_at"] = policy::format_rfc3339(*a.revoked_at);
  return j;
}

Result<policy::Approval> approval_from_json(const json& j) {
  try {
    policy::Approval a;
    a.id = j.at("id").get<std::string>();
    a.approver = j.at("approver").get<std::string>();
    a.requester = j.at("requester").get<std::string>();
    a.patient = j.at("patient").get<std::string>();
    a.documents = j.at("documents").get<std::vector<std::string>>();
    const auto kind = policy::parse_export_kind(j.at("kind").get<std::string>());
    if (!kind) return malformed();
    a.kind = *kind;
    a.purpose = j.at("purpose").get<std::string>();
    a.granted_at = time_of(j, "granted_at");
    a.valid_until = time_of(j, "valid_until");
    if (j.contains("revoked_at")) a.revoked_at = time_of(j, "revoked_at");
    return a;
  } catch (const std::exception&) {
    return malformed();
  }
}

void ExportLedger::track(const std::string& ticket, policy::Time delete_by) {
  std::lock_guard lk(mu_);
  if (!open_.emplace(ticket, delete_by).second) return;
  deadlines_.insert(delete_by);
}

void ExportLedger::confirmed(const std::string& ticket) {
  std::lock_guard lk(mu_);
  const auto it = open_.find(ticket);
  if (it == open_.end()) return;
  deadlines_.erase(deadlines_.find(it->second));
  open_.erase(it);
}

std::size_t ExportLedger::overdue(policy::Time now) const {
  std::lock_guard lk(mu_);
  return static_cast<std::size_t>(std::distance(deadlines_.begin(), deadlines_.upper_bound(now)));
}

bool ExportLedger::try_begin(const std::string& user) {
  std::lock_guard lk(mu_);
  return busy_.insert(user).second;
}

void ExportLedger::end(const std::string& user) {
  std::lock_guard lk(mu_);
  busy_.erase(user);
}

}  // namespace hiegate::daemon
