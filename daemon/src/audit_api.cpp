// GET /v1/audit/report: the audit trail's reports for `admin` users (who
// accessed a patient's information — for a disclosure request; what a user
// did; every emergency access with its reason, for review). docs/audit.md.
//
// The request is itself audited (event `audit_report`, with the patient
// asked about), allowed or refused, before it is answered. The query runs on
// the store thread that answered the user lookup, never on the event loop.
#include <nlohmann/json.hpp>
#include <variant>

#include "clinical_common.hpp"
#include "hiegate/daemon/mode_api.hpp"
#include "hiegate/policy/rfc3339.hpp"
#include "routes.hpp"

namespace hiegate::daemon {

namespace {

using nlohmann::json;

constexpr std::size_t kDefaultLimit = 1000;
constexpr std::size_t kMaxLimit = 10000;

std::optional<std::int64_t> time_param(const ApiRequest& req, std::string_view name, bool& bad) {
  const auto v = req.query_param(name);
  if (!v) return std::nullopt;
  const auto t = policy::parse_rfc3339(*v);
  if (!t) {
    bad = true;
    return std::nullopt;
  }
  return std::chrono::duration_cast<std::chrono::milliseconds>(t->time_since_epoch()).count();
}

/// The query, or a 400 answer.
std::variant<AuditQuery, HttpResponse> parse_query(const ApiRequest& req, const std::string& facility,
                                                   std::size_t& limit) {
  AuditQuery q;
  if (auto p = req.query_param("patient")) {
    if (!policy::is_patient_id(*p)) return bad_request("invalid_patient", "patient ids are [A-Za-z0-9-]{1,64}");
    q.patient = *p;
  }
  if (auto u = req.query_param("user")) {
    // Records name users network-wide ("FACILITY/user"); a bare id is ours.
    const std::string local = u->substr(u->find('/') == std::string::npos ? 0 : u->find('/') + 1);
    if (!policy::is_local_id(local)) return bad_request("invalid_user", "user ids are [A-Za-z0-9._-]{1,64}");
    q.user = u->find('/') == std::string::npos ? facility + "/" + *u : *u;
  }
  if (auto e = req.query_param("emergency")) {
    if (*e != "1" && *e != "true") return bad_request("invalid_request", "emergency must be 1 or true");
    q.emergency_only = true;
  }
  if (!q.patient && !q.user && !q.emergency_only) {
    return bad_request("invalid_request", "name a patient, a user or emergency=1");
  }
  bool bad = false;
  if (auto f = time_param(req, "from", bad)) q.from_ms = *f;
  if (auto t = time_param(req, "to", bad)) q.to_ms = *t;
  if (bad) return bad_request("invalid_request", "from and to are RFC 3339 UTC times such as 2026-04-01T00:00:00Z");
  limit = kDefaultLimit;
  if (auto l = req.query_param("limit")) {
    try {
      const auto n = std::stoul(*l);
      if (n == 0 || n > kMaxLimit) throw std::out_of_range("limit");
      limit = n;
    } catch (const std::exception&) {
      return bad_request("invalid_request", "limit must be 1.." + std::to_string(kMaxLimit));
    }
  }
  return q;
}

std::string describe(const AuditQuery& q, const ApiRequest& req) {
  std::string d = "report";
  if (q.user) d += " user=" + *q.user;
  if (q.emergency_only) d += " emergency";
  if (auto f = req.query_param("from")) d += " from=" + *f;
  if (auto t = req.query_param("to")) d += " to=" + *t;
  return d;
}

}  // namespace

void add_audit_routes(Router& router, Gateway& gw) {
  router.add(http::verb::get, "/v1/audit/report", [&gw](ApiRequest& req, Responder r) {
    const auto cfg = gw.config();
    AuditRecord rec;
    rec.event = "audit_report";
    rec.action = AuditAction::read;
    rec.facility = cfg->network.facility;
    rec.user = cfg->network.facility + "/" + valid_utf8(req.msg[kUserHeader]);
    rec.request_id = req.request_id;
    auto rp = std::make_shared<Responder>(std::move(r));
    std::size_t limit = 0;
    auto parsed = parse_query(req, cfg->network.facility, limit);
    if (auto* res = std::get_if<HttpResponse>(&parsed)) return send_audited(gw, rp, rec, std::move(*res));
    auto q = std::get<AuditQuery>(std::move(parsed));
    rec.patient = q.patient.value_or("");
    rec.detail = describe(q, req);
    require_admin(gw, req, "audit reports are", [&gw, rp, rec, q, limit](std::optional<HttpResponse> refused,
                                                                    std::string role) mutable {
      rec.role = std::move(role);
      if (refused) return send_audited(gw, rp, rec, std::move(*refused));
      auto rows = gw.audit ? gw.audit->query(q) : Result<std::vector<AuditEntry>>(make_error("audit_unavailable", "no audit trail"));
      if (!rows) {
        return send_audited(gw, rp, rec,
                            error_response(http::status::service_unavailable, rows.error().code,
                                           "the audit trail cannot be read: " + rows.error().message));
      }
      json items = json::array();
      for (std::size_t i = 0; i < rows->size() && i < limit; ++i) {
        json j = json::parse(entry_to_json((*rows)[i], "", true));
        j["entity"].erase("patient_hash");
        items.push_back(std::move(j));
      }
      send_audited(gw, rp, rec,
                   json_response(http::status::ok, {{"count", items.size()},
                                                    {"truncated", rows->size() > limit},
                                                    {"records", std::move(items)}}));
    });
  });
}

}  // namespace hiegate::daemon
