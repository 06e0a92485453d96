// Approvals and export tickets on the local API. Decisions come from
// policy/ (approvals.hpp, exports.hpp); this file gathers the facts from the
// store and records the outcome. Every handler answers through its
// Responder from a store thread; nothing blocks the event loop.
#include "export_api.hpp"

#include <map>

#include "clinical_common.hpp"
#include "export_common.hpp"
#include "hiegate/crypto/encoding.hpp"
#include "hiegate/crypto/primitives.hpp"
#include "hiegate/daemon/mode_api.hpp"
#include "hiegate/daemon/store.hpp"

namespace hiegate::daemon {

using nlohmann::json;

namespace exports {

namespace {
const char* japanese(const std::string& code) {
  static const std::map<std::string, const char*> ja = {
      {"invalid_request", "エクスポートの要求が不正です"},
      {"media_export_denied", "媒体への持ち出しは禁止されています"},
      {"role_not_allowed", "この職種にはこの操作が許可されていません"},
      {"remote_document_not_exportable", "他施設から取得した文書は持ち出せません"},
      {"legal_basis_required", "第三者提供には本人の同意または法令上の根拠と理由が必要です"},
      {"approval_required", "所属長の承認が必要です"},
      {"approval_invalid", "承認の範囲外です"},
      {"approval_expired", "承認の有効期限が切れています"},
      {"approval_revoked", "承認は取り消されています"},
      {"self_approval", "自分自身の要求は承認できません"},
      {"quota_exceeded", "本日の上限件数に達しました"},
      {"cannot_anonymize", "この文書は匿名化できないため二次利用できません"},
      {"ticket_not_yours", "他の利用者の持ち出し記録です"},
      {"export_in_progress", "別の持ち出し処理が進行中です"},
  };
  const auto it = ja.find(code);
  return it == ja.end() ? "要求は拒否されました" : it->second;
}
}  // namespace

HttpResponse export_refusal(const std::string& code, const std::string& rule, const std::string& message,
                            http::status status) {
  return error_response(status, code, message,
                        {{"rule", rule}, {"localized", {{"ja", japanese(code)}, {"en", message}}}});
}

std::optional<json> parse_object(const ApiRequest& req) {
  auto j = json::parse(req.msg.body(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  return j;
}

std::string random_id() { return crypto::to_hex(crypto::random_bytes(16)); }

void resolve_user(Gateway& gw, const ApiRequest& req, const std::shared_ptr<Responder>& r,
                  std::function<void(ExportUser)> next) {
  const std::string user_id(req.msg[kUserHeader]);
  if (!policy::is_local_id(user_id)) {
    return r->send(bad_request("invalid_user", "X-HIE-User must name a registered user ([A-Za-z0-9._-]{1,64})"));
  }
  find_user(gw, user_id, [&gw, r, user_id, next = std::move(next)](Result<std::optional<policy::UserRecord>> u) {
    if (!u) return r->send(store_error(u.error()));
    ExportUser eu;
    eu.config = gw.config();
    eu.mode = gw.mode();
    const std::string network_user = eu.config->network.facility + "/" + user_id;
    const auto who = policy::decide_user(u->has_value() ? &**u : nullptr, eu.mode.orders.user_suspended(network_user));
    if (!who) return r->send(refusal(who));
    eu.record = **u;
    eu.actor = policy::Actor{network_user, {std::string(policy::name(eu.record.role))}};
    next(std::move(eu));
  });
}

void load_ticket(Gateway& gw, const std::string& id, const std::shared_ptr<Responder>& r,
                 std::function<void(ExportTicket)> next) {
  gw.store.get_record(RecordTable::exports, ticket_key(id), [r, next = std::move(next)](Result<StoredRecord> rec) {
    if (!rec) return r->send(store_error(rec.error()));
    auto t = ticket_from_json(json::parse(rec->value, nullptr, false));
    if (!t) return r->send(store_error(t.error()));
    next(std::move(*t));
  });
}

}  // namespace exports

namespace {

using namespace exports;

Result<policy::ExportPolicy> export_policy(const Config& cfg) {
  return policy::ExportPolicy::create(cfg.policy.export_rules);
}

HttpResponse policy_error(const Error& e, const std::string& rule) {
  if (e.code == "invalid_request") return error_response(http::status::bad_request, e.code, e.message, {{"rule", rule}});
  return export_refusal(e.code, rule, e.message);
}

/// {requester, patient, documents, kind, purpose, valid_until}; the requester
/// is a local user id, returned as a network user id.
Result<policy::ApprovalRequest> approval_request(const json& b, const std::string& facility) {
  for (const auto& [k, v] : b.items()) {
    if (k != "requester" && k != "patient" && k != "documents" && k != "kind" && k != "purpose" &&
        k != "valid_until") {
      return make_error("invalid_request", "unknown member \"" + k + "\"");
    }
  }
  policy::ApprovalRequest a;
  auto str = [&](const char* key) -> std::optional<std::string> {
    if (!b.contains(key) || !b[key].is_string()) return std::nullopt;
    return b[key].get<std::string>();
  };
  const auto requester = str("requester");
  if (!requester || !policy::is_local_id(*requester)) {
    return make_error("invalid_request", "\"requester\" must be a local user id");
  }
  a.requester = facility + "/" + *requester;
  const auto patient = str("patient");
  if (!patient) return make_error("invalid_request", "\"patient\" is required");
  a.patient = *patient;
  if (!b.contains("documents") || !b["documents"].is_array()) {
    return make_error("invalid_request", "\"documents\" must be a list of document ids");
  }
  for (const auto& d : b["documents"]) {
    if (!d.is_string()) return make_error("invalid_request", "\"documents\" must be a list of document ids");
    a.documents.push_back(d);
  }
  const auto kind = str("kind");
  if (!kind || !policy::parse_export_kind(*kind)) {
    return make_error("invalid_request", "\"kind\" must be media, print, secondary_use or third_party");
  }
  a.kind = *policy::parse_export_kind(*kind);
  a.purpose = str("purpose").value_or("");
  const auto until = str("valid_until");
  const auto t = until ? policy::parse_rfc3339(*until) : std::nullopt;
  if (!t) return make_error("invalid_request", "\"valid_until\" must be an RFC 3339 UTC time");
  a.valid_until = *t;
  return a;
}

/// Approvers and administrators see every approval and export.
bool sees_all(const ExportUser& u) {
  return u.actor.has_role(policy::kApproverRole) || u.record.role == policy::Role::admin;
}

/// Narrows a list to `u`'s own entries unless `u` sees all: `who` (a
/// network user id, "" for everyone's) becomes `u`. False: `who` named
/// someone else, refused on `rp`.
bool own_unless_all(const ExportUser& u, std::string& who, const std::shared_ptr<Responder>& rp, const char* what) {
  if (sees_all(u)) return true;
  if (!who.empty() && who != u.actor.user) {
    rp->send(export_refusal("role_not_allowed", "export.list",
                            std::string("only approvers and administrators see other users' ") + what));
    return false;
  }
  who = u.actor.user;
  return true;
}

void add_approval_routes(Router& router, Gateway& gw) {
  router.add(http::verb::post, "/v1/approvals", [&gw](ApiRequest& req, Responder r) {
    const auto body = parse_object(req);
    if (!body) return r.send(bad_request("invalid_json", "the body must be a JSON object"));
    auto ar = approval_request(*body, req.config->network.facility);
    if (!ar) return r.send(bad_request(ar.error().code, ar.error().message));
    auto rp = std::make_shared<Responder>(std::move(r));
    resolve_user(gw, req, rp, [&gw, rp, ar = std::move(*ar)](ExportUser approver) {
      auto policy = export_policy(*approver.config);
      if (!policy) return rp->send(store_error(policy.error()));
      auto granted = policy::grant_approval(ar, approver.actor, random_id(), *policy, gw.clock());
      if (!granted) return rp->send(policy_error(granted.error(), "export.approval"));
      // The requester must be a registered user of this facility.
      const std::string local = ar.requester.substr(ar.requester.find('/') + 1);
      find_user(gw, local, [&gw, rp, a = std::move(*granted)](Result<std::optional<policy::UserRecord>> u) {
        if (!u) return rp->send(store_error(u.error()));
        if (!u->has_value()) return rp->send(bad_request("unknown_user", "the requester is not a registered user"));
        const json out = approval_to_json(a);
        gw.store.put_record(RecordTable::exports, StoredRecord{approval_key(a.id), kApprovalGroup, out.dump()},
                            [rp, out](Result<void> st) {
                              if (!st) return rp->send(store_error(st.error()));
                              rp->send(json_response(http::status::created, out));
                            });
      });
    });
  });

  router.add(http::verb::get, "/v1/approvals", [&gw](ApiRequest& req, Responder r) {
    std::string requester;
    if (auto q = req.query_param("requester")) {
      if (!policy::is_local_id(*q)) return r.send(bad_request("invalid_user", "requester must be a local user id"));
      requester = req.config->network.facility + "/" + *q;
    }
    auto rp = std::make_shared<Responder>(std::move(r));
    resolve_user(gw, req, rp, [&gw, rp, requester](ExportUser u) mutable {
      if (!own_unless_all(u, requester, rp, "approvals")) return;
      gw.store.list_records(RecordTable::exports, kApprovalGroup,
                            [&gw, rp, requester](Result<std::vector<StoredRecord>> l) {
                              if (!l) return rp->send(store_error(l.error()));
                              const auto now = gw.clock();
                              json items = json::array();
                              for (const auto& rec : *l) {
                                auto a = approval_from_json(json::parse(rec.value, nullptr, false));
                                if (!a || (!requester.empty() && a->requester != requester)) continue;
                                json j = approval_to_json(*a);
                                j["state"] = a->revoked_at ? "revoked" : (now >= a->valid_until ? "expired" : "active");
                                items.push_back(std::move(j));
                              }
                              rp->send(json_response(http::status::ok, {{"approvals", items}}));
                            });
    });
  });

  router.add(http::verb::delete_, "/v1/approvals/{id}", [&gw](ApiRequest& req, Responder r) {
    const std::string id(req.param("id"));
    if (!policy::is_local_id(id)) return r.send(bad_request("invalid_request", "malformed approval id"));
    auto rp = std::make_shared<Responder>(std::move(r));
    resolve_user(gw, req, rp, [&gw, rp, id](ExportUser by) {
      gw.store.get_record(RecordTable::exports, approval_key(id), [&gw, rp, by](Result<StoredRecord> rec) {
        if (!rec) return rp->send(store_error(rec.error()));
        auto a = approval_from_json(json::parse(rec->value, nullptr, false));
        if (!a) return rp->send(store_error(a.error()));
        auto revoked = policy::revoke_approval(std::move(*a), by.actor, gw.clock());
        if (!revoked) return rp->send(policy_error(revoked.error(), "export.approval"));
        const json out = approval_to_json(*revoked);
        gw.store.put_record(RecordTable::exports, StoredRecord{rec->key, kApprovalGroup, out.dump()},
                            [rp, out](Result<void> st) {
                              if (!st) return rp->send(store_error(st.error()));
                              rp->send(json_response(http::status::ok, out));
                            });
      });
    });
  });
}

/// The exporter and approvers may see and close a ticket; nobody else.
bool may_handle(const ExportUser& u, const ExportTicket& t) {
  return t.user == u.actor.user || u.actor.has_role(policy::kApproverRole);
}

HttpResponse not_yours() {
  return export_refusal("ticket_not_yours", "export.ticket",
                        "the export belongs to another user; only its exporter or an approver may use it");
}

void add_ticket_routes(Router& router, Gateway& gw, const std::shared_ptr<ExportLedger>& ledger) {
  router.add(http::verb::get, "/v1/exports", [&gw](ApiRequest& req, Responder r) {
    const auto overdue = req.query_param("overdue");
    if (overdue && *overdue != "true" && *overdue != "false") {
      return r.send(bad_request("invalid_request", "overdue must be true or false"));
    }
    std::string user;
    if (auto q = req.query_param("user")) {
      if (!policy::is_local_id(*q)) return r.send(bad_request("invalid_user", "user must be a local user id"));
      user = req.config->network.facility + "/" + *q;
    }
    const bool only_overdue = overdue && *overdue == "true";
    auto rp = std::make_shared<Responder>(std::move(r));
    resolve_user(gw, req, rp, [&gw, rp, user, only_overdue](ExportUser u) mutable {
      if (!own_unless_all(u, user, rp, "exports")) return;
      gw.store.list_records(RecordTable::exports, kTicketGroup,
                            [&gw, rp, user, only_overdue](Result<std::vector<StoredRecord>> l) {
                              if (!l) return rp->send(store_error(l.error()));
                              const auto now = gw.clock();
                              json items = json::array();
                              for (const auto& rec : *l) {
                                auto t = ticket_from_json(json::parse(rec.value, nullptr, false));
                                if (!t || (!user.empty() && t->user != user)) continue;
                                if (only_overdue && !t->overdue(now)) continue;
                                json j = ticket_to_json(*t);
                                j["overdue"] = t->overdue(now);
                                items.push_back(std::move(j));
                              }
                              rp->send(json_response(http::status::ok, {{"exports", items}}));
                            });
    });
  });

  router.add(http::verb::get, "/v1/exports/{ticket}", [&gw](ApiRequest& req, Responder r) {
    const std::string id(req.param("ticket"));
    if (!policy::is_local_id(id)) return r.send(bad_request("invalid_request", "malformed ticket"));
    auto rp = std::make_shared<Responder>(std::move(r));
    resolve_user(gw, req, rp, [&gw, rp, id](ExportUser u) {
      load_ticket(gw, id, rp, [&gw, rp, u](ExportTicket t) {
        if (!may_handle(u, t)) return rp->send(not_yours());
        json j = ticket_to_json(t);
        j["overdue"] = t.overdue(gw.clock());
        rp->send(json_response(http::status::ok, j));
      });
    });
  });

  router.add(http::verb::post, "/v1/exports/{ticket}/deleted", [&gw, ledger](ApiRequest& req, Responder r) {
    const std::string id(req.param("ticket"));
    if (!policy::is_local_id(id)) return r.send(bad_request("invalid_request", "malformed ticket"));
    auto rp = std::make_shared<Responder>(std::move(r));
    resolve_user(gw, req, rp, [&gw, rp, id, ledger](ExportUser u) {
      load_ticket(gw, id, rp, [&gw, rp, u, ledger](ExportTicket t) {
        if (!may_handle(u, t)) return rp->send(not_yours());
        if (t.deleted_at) return rp->send(json_response(http::status::ok, ticket_to_json(t)));  // idempotent
        t.deleted_at = gw.clock();
        t.deleted_by = u.actor.user;
        const json out = ticket_to_json(t);
        gw.store.put_record(RecordTable::exports, StoredRecord{ticket_key(t.id), kTicketGroup, out.dump()},
                            [rp, out, ledger, id = t.id](Result<void> st) {
                              if (!st) return rp->send(store_error(st.error()));
                              ledger->confirmed(id);
                              rp->send(json_response(http::status::ok, out));
                            });
      });
    });
  });
}

}  // namespace

std::function<std::size_t()> add_export_routes(Router& router, Gateway& gw) {
  auto ledger = std::make_shared<ExportLedger>();
  // Fill the deadlines of unconfirmed tickets from the store, in the background.
  gw.store.list_records(RecordTable::exports, kTicketGroup, [ledger](Result<std::vector<StoredRecord>> l) {
    if (!l) return;
    for (const auto& rec : *l) {
      auto t = ticket_from_json(json::parse(rec.value, nullptr, false));
      if (t && !t->deleted_at) ledger->track(t->id, t->delete_by);
    }
  });
  add_approval_routes(router, gw);
  add_ticket_routes(router, gw, ledger);
  add_create_route(router, gw, ledger);
  return [ledger, clock = gw.clock] { return ledger->overdue(clock()); };
}

namespace {

// What an export record says of what left the building: the documents asked
// for (another facility's as FACILITY/ID), the approval and the third-party
// basis named, and, once created, the ticket (from the answer's Location).
// Read from the request before the route checks it: strings only, bounded.
void fill_export_record(const ApiRequest& req, AuditRecord& rec) {
  const auto b = json::parse(req.msg.body(), nullptr, false);
  if (!b.is_object()) return;
  const auto str = [](const json& o, const char* key) {
    const auto it = o.find(key);
    return it != o.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  if (const auto docs = b.find("documents"); docs != b.end() && docs->is_array()) {
    for (const auto& d : *docs) {
      if (rec.document_ids.size() >= exports::kMaxExportDocuments) break;
      if (!d.is_object() || str(d, "id").empty()) continue;
      const std::string facility = str(d, "facility");
      rec.document_ids.push_back(facility.empty() ? str(d, "id") : facility + "/" + str(d, "id"));
    }
  }
  if (const std::string approval = str(b, "approval"); !approval.empty()) rec.detail += " approval=" + approval;
  if (const auto tp = b.find("third_party"); tp != b.end() && tp->is_object()) {
    if (const std::string basis = str(*tp, "basis"); !basis.empty()) rec.detail += " basis=" + basis;
    if (!str(*tp, "consent").empty()) rec.detail += " basis=consent";
  }
}

void note_ticket(const HttpResponse& res, AuditRecord& rec) {
  constexpr std::string_view prefix = "/v1/exports/";
  const std::string_view location(res[http::field::location].data(), res[http::field::location].size());
  if (res.result() == http::status::created && location.starts_with(prefix)) {
    rec.document_ids.push_back("ticket/" + std::string(location.substr(prefix.size())));
  }
}

}  // namespace

Handler audited_export_route(Gateway& gw, const Router::Route& r) {
  // Reads name patients too: audited like the changes.
  if (r.method == http::verb::get) {
    const std::string event = r.pattern == "/v1/approvals" ? "approval_list"
                              : r.pattern == "/v1/exports" ? "export_list"
                                                           : "export_read";
    return audited_route(gw, event, AuditAction::read, r.handler);
  }
  const std::string event = r.pattern == "/v1/approvals"       ? "approval_grant"
                            : r.pattern == "/v1/approvals/{id}" ? "approval_revoke"
                            : r.pattern == "/v1/exports"        ? "export"
                                                                : "export_deletion_confirmed";
  const AuditAction action = event == "export"            ? AuditAction::read
                             : event == "approval_revoke" ? AuditAction::del
                                                          : AuditAction::create;
  if (event == "export") return audited_route(gw, event, action, r.handler, fill_export_record, note_ticket);
  return audited_route(gw, event, action, r.handler);
}

}  // namespace hiegate::daemon
