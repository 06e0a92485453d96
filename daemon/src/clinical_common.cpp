#include "clinical_common.hpp"

#include <cstdio>

#include "hiegate/crypto/encoding.hpp"
#include "hiegate/daemon/http.hpp"
#include "hiegate/daemon/memory_budget.hpp"
#include "hiegate/daemon/mode_api.hpp"
#include "hiegate/daemon/store.hpp"
#include "hiegate/policy/content.hpp"
#include "hiegate/policy/rfc3339.hpp"
#include "hiegate/transport/identity.hpp"

namespace hiegate::daemon {

using nlohmann::json;

json user_to_json(const policy::UserRecord& u) {
  return {{"id", u.id}, {"role", policy::name(u.role)}, {"department", u.department}, {"active", u.active}};
}

Result<policy::UserRecord> user_from_json(const std::string& id, const json& j) {
  if (!j.is_object()) return make_error("invalid_request", "the body must be a JSON object");
  for (const auto& [k, v] : j.items()) {
    if (k != "role" && k != "department" && k != "active" && k != "id") {
      return make_error("invalid_request", "unknown member \"" + k + "\"");
    }
  }
  policy::UserRecord u;
  u.id = id;
  if (!j.contains("role") || !j["role"].is_string()) return make_error("invalid_request", "\"role\" is required");
  const auto role = policy::parse_role(j["role"].get<std::string>());
  if (!role) {
    return make_error("invalid_request",
                      "\"role\" must be physician, nurse, pharmacist, technician, clerk, approver or admin");
  }
  u.role = *role;
  if (j.contains("department")) {
    if (!j["department"].is_string() || j["department"].get<std::string>().size() > 128) {
      return make_error("invalid_request", "\"department\" must be a string of at most 128 bytes");
    }
    u.department = j["department"];
  }
  if (j.contains("active")) {
    if (!j["active"].is_boolean()) return make_error("invalid_request", "\"active\" must be true or false");
    u.active = j["active"];
  }
  return u;
}

namespace {
std::string format_date(std::chrono::year_month_day d) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(d.year()),
                static_cast<unsigned>(d.month()), static_cast<unsigned>(d.day()));
  return buf;
}

std::optional<std::chrono::year_month_day> parse_date(const std::string& s) {
  int y = 0;
  unsigned m = 0, d = 0;
  char tail = 0;
  if (s.size() != 10 || std::sscanf(s.c_str(), "%4d-%2u-%2u%c", &y, &m, &d, &tail) != 3) return std::nullopt;
  const std::chrono::year_month_day ymd{std::chrono::year(y), std::chrono::month(m), std::chrono::day(d)};
  if (!ymd.ok()) return std::nullopt;
  return ymd;
}
}  // namespace

json consent_to_json(const ConsentRecord& c) {
  json j = {{"signed_on", format_date(c.consent.signed_on)},
            {"form_ref", c.form_ref},
            {"registered_by", c.registered_by},
            {"registered_at", c.registered_at}};
  j["scope"] = c.consent.all_facilities ? json("*") : json(c.consent.facilities);
  if (c.consent.withdrawn_at) j["withdrawn_at"] = policy::format_rfc3339(*c.consent.withdrawn_at);
  return j;
}

Result<ConsentRecord> consent_from_json(const json& j) {
  if (!j.is_object()) return make_error("invalid_request", "the body must be a JSON object");
  for (const auto& [k, v] : j.items()) {
    if (k != "signed_on" && k != "scope" && k != "form_ref" && k != "registered_by" &&
        k != "registered_at" && k != "withdrawn_at") {
      return make_error("invalid_request", "unknown member \"" + k + "\"");
    }
  }
  ConsentRecord c;
  if (!j.contains("signed_on") || !j["signed_on"].is_string()) {
    return make_error("invalid_request", "\"signed_on\" (YYYY-MM-DD) is required");
  }
  const auto d = parse_date(j["signed_on"]);
  if (!d) return make_error("invalid_request", "\"signed_on\" must be a date YYYY-MM-DD");
  c.consent.signed_on = *d;
  if (!j.contains("scope")) return make_error("invalid_request", "\"scope\" (\"*\" or a list of facility codes) is required");
  const json& scope = j["scope"];
  if (scope.is_string() && scope == "*") {
    c.consent.all_facilities = true;
  } else if (scope.is_array() && !scope.empty()) {
    for (const auto& f : scope) {
      if (!f.is_string() || !transport::is_facility_code(f.get<std::string>())) {
        return make_error("invalid_request", "\"scope\" entries must be 10-digit facility codes");
      }
      c.consent.facilities.push_back(f);
    }
  } else {
    return make_error("invalid_request", "\"scope\" must be \"*\" or a non-empty list of facility codes");
  }
  if (!j.contains("form_ref") || !j["form_ref"].is_string() || j["form_ref"].get<std::string>().empty() ||
      j["form_ref"].get<std::string>().size() > 128) {
    return make_error("invalid_request", "\"form_ref\" (the paper form's reference) is required");
  }
  c.form_ref = j["form_ref"];
  if (j.contains("registered_by") && j["registered_by"].is_string()) c.registered_by = j["registered_by"];
  if (j.contains("registered_at") && j["registered_at"].is_string()) c.registered_at = j["registered_at"];
  if (j.contains("withdrawn_at")) {
    if (!j["withdrawn_at"].is_string()) return make_error("invalid_request", "bad withdrawn_at");
    auto t = policy::parse_rfc3339(j["withdrawn_at"].get<std::string>());
    if (!t) return make_error("invalid_request", "bad withdrawn_at");
    c.consent.withdrawn_at = *t;
  }
  return c;
}

Result<json> document_metadata(const json& body) {
  json m = json::object();
  auto str = [&](const char* key, std::size_t max, bool required) -> Result<std::string> {
    if (!body.contains(key)) {
      if (required) return make_error("invalid_request", std::string("\"") + key + "\" is required");
      return std::string();
    }
    if (!body[key].is_string() || body[key].get<std::string>().size() > max) {
      return make_error("invalid_request", std::string("\"") + key + "\" must be a string of at most " +
                                               std::to_string(max) + " bytes");
    }
    return body[key].get<std::string>();
  };
  auto patient = str("patient", 64, true);
  if (!patient) return std::move(patient).error();
  if (!policy::is_patient_id(*patient)) {
    return make_error("invalid_patient", "\"patient\" must be a regional patient id [A-Za-z0-9-]{1,64}");
  }
  auto type = str("type", 64, true);
  if (!type) return std::move(type).error();
  if (type->empty()) return make_error("invalid_request", "\"type\" must not be empty");
  auto title = str("title", 512, false);
  if (!title) return std::move(title).error();
  auto created = str("created", 32, true);
  if (!created) return std::move(created).error();
  if (!policy::parse_rfc3339(*created)) {
    return make_error("invalid_request", "\"created\" must be an RFC 3339 UTC time such as 2026-11-21T09:00:00Z");
  }
  auto ct = str("content_type", 128, true);
  if (!ct) return std::move(ct).error();
  m = {{"patient", *patient}, {"type", *type}, {"title", *title}, {"created", *created}, {"content_type", *ct}};
  return m;
}

void find_user(Gateway& gw, const std::string& id,
               std::function<void(Result<std::optional<policy::UserRecord>>)> done) {
  gw.store.get_record(RecordTable::users, id, [id, done = std::move(done)](Result<StoredRecord> r) {
    if (!r) {
      if (r.error().code == "not_found") return done(std::optional<policy::UserRecord>());
      return done(std::move(r).error());
    }
    const auto j = json::parse(r->value, nullptr, false);
    auto u = user_from_json(id, j);
    if (!u) return done(make_error("record_malformed", "a stored user record is malformed"));
    done(std::optional<policy::UserRecord>(std::move(*u)));
  });
}

std::optional<json> parse_body(const ApiRequest& req) {
  auto j = json::parse(req.msg.body(), nullptr, false);
  if (j.is_discarded()) return std::nullopt;
  return j;
}

std::optional<HttpResponse> role_refusal(Gateway& gw, const std::string& actor, const policy::UserRecord* user,
                                         policy::RoleSet roles, std::string_view what) {
  const auto facility = gw.config()->network.facility;
  const auto who = policy::decide_user(user, gw.mode().orders.user_suspended(facility + "/" + actor));
  if (!who) return refusal(who);
  if (!roles.empty() && !roles.contains(user->role)) {
    std::string names;
    for (const auto r : policy::kAllRoles) {
      if (!roles.contains(r)) continue;
      if (!names.empty()) names += " or ";
      names += policy::name(r);
    }
    return error_response(http::status::forbidden, "role_not_allowed",
                          std::string(what) + " for users with the " + names + " role");
  }
  return std::nullopt;
}

std::optional<HttpResponse> admin_refusal(Gateway& gw, const std::string& actor, const policy::UserRecord* user,
                                          std::string_view what) {
  return role_refusal(gw, actor, user, {policy::Role::admin}, what);
}

void require_user(Gateway& gw, const ApiRequest& req, policy::RoleSet roles, std::string what,
                  std::function<void(std::optional<HttpResponse>, std::string role)> then) {
  const std::string actor(req.msg[kUserHeader]);
  if (!policy::is_local_id(actor)) {
    return then(bad_request("invalid_user", "X-HIE-User must name a registered user ([A-Za-z0-9._-]{1,64})"), "");
  }
  find_user(gw, actor, [&gw, actor, roles, what = std::move(what), then = std::move(then)](
                           Result<std::optional<policy::UserRecord>> u) {
    if (!u) return then(store_error(u.error()), "");
    const policy::UserRecord* rec = u->has_value() ? &**u : nullptr;
    then(role_refusal(gw, actor, rec, roles, what), rec ? std::string(policy::name(rec->role)) : "");
  });
}

void require_admin(Gateway& gw, const ApiRequest& req, std::string what,
                   std::function<void(std::optional<HttpResponse>, std::string role)> then) {
  require_user(gw, req, {policy::Role::admin}, std::move(what), std::move(then));
}

void find_consent(Gateway& gw, const std::string& patient,
                  std::function<void(Result<std::optional<ConsentRecord>>)> done) {
  gw.store.get_record(RecordTable::consents, patient, [done = std::move(done)](Result<StoredRecord> r) {
    if (!r) {
      if (r.error().code == "not_found") return done(std::optional<ConsentRecord>());
      return done(std::move(r).error());
    }
    auto c = consent_from_json(json::parse(r->value, nullptr, false));
    if (!c) return done(make_error("record_malformed", "a stored consent record is malformed"));
    done(std::optional<ConsentRecord>(std::move(*c)));
  });
}

HttpResponse bad_request(const std::string& code, const std::string& message) {
  return error_response(http::status::bad_request, code, message);
}

HttpResponse store_error(const Error& e) {
  if (e.code == "not_found") return error_response(http::status::not_found, "not_found", "no such record");
  if (e.code == "overloaded") return memory_full_response();
  if (e.code == "store_full") {
    return error_response(http::status::insufficient_storage, "store_full",
                          "the gateway's disk is full; nothing was changed");
  }
  return error_response(http::status::service_unavailable, e.code, "the store failed: " + e.message);
}

void send_audited(Gateway& gw, std::shared_ptr<Responder> rp, AuditRecord record, HttpResponse res,
                  std::shared_ptr<transport::BodyStream> body) {
  const unsigned status = res.result_int();
  if (record.outcome == AuditOutcome::success && status >= 400) {
    record.outcome = status >= 500 ? AuditOutcome::serious_failure : AuditOutcome::minor_failure;
  }
  if (status >= 400 && record.reason_code.empty()) {
    const auto j = json::parse(res.body(), nullptr, false);
    if (!j.is_discarded() && j.contains("error") && j["error"].is_object()) {
      record.reason_code = j["error"].value("code", "");
      record.rule = j["error"].value("rule", "");
    }
  }
  auto held = std::make_shared<HttpResponse>(std::move(res));
  gw.audited(std::move(record), [rp, held, body = std::move(body)](Status st) mutable {
    if (!st) {
      return rp->send(error_response(http::status::service_unavailable, "audit_unavailable",
                                     "the audit trail cannot be written; the request is refused"));
    }
    rp->send(std::move(*held), std::move(body));
  });
}

Handler audited_route(Gateway& gw, std::string event, AuditAction action, Handler inner,
                      std::function<void(const ApiRequest&, AuditRecord&)> fill,
                      std::function<void(const HttpResponse&, AuditRecord&)> answered) {
  return [&gw, event = std::move(event), action, inner = std::move(inner), fill = std::move(fill),
          answered = std::move(answered)](ApiRequest& req, Responder r) {
    AuditRecord rec;
    rec.event = event;
    rec.action = action;
    rec.user = gw.config()->network.facility + "/" + valid_utf8(req.msg[kUserHeader]);
    rec.request_id = req.request_id;
    const auto body = json::parse(req.msg.body(), nullptr, false);
    if (!body.is_discarded() && body.is_object()) {
      if (body.contains("patient") && body["patient"].is_string()) rec.patient = body["patient"];
      if (body.contains("purpose") && body["purpose"].is_string()) rec.purpose = body["purpose"];
      if (body.contains("kind") && body["kind"].is_string()) rec.detail = "kind=" + body["kind"].get<std::string>();
    }
    if (const auto t = req.param("ticket"); !t.empty()) rec.document_ids = {"ticket/" + std::string(t)};
    if (const auto a = req.param("id"); !a.empty()) rec.document_ids = {std::string(a)};
    if (const auto p = req.param("patient"); !p.empty()) rec.patient = std::string(p);
    if (fill) fill(req, rec);
    auto plain = std::make_shared<Responder>(std::move(r));
    // A Responder's sink runs once: the record moves along, not copied.
    Responder wrapped([&gw, plain, rec = std::move(rec), answered](HttpResponse res,
                                                                   std::shared_ptr<transport::BodyStream> stream) mutable {
          if (answered) answered(res, rec);
          send_audited(gw, plain, std::move(rec), std::move(res), std::move(stream));
        });
    inner(req, std::move(wrapped));
  };
}

void reply_audited(Gateway& gw, std::shared_ptr<transport::PeerReply> reply, AuditRecord record,
                   transport::PeerResponse res) {
  if (record.outcome == AuditOutcome::success && res.status >= 400) {
    record.outcome = res.status >= 500 ? AuditOutcome::serious_failure : AuditOutcome::minor_failure;
  }
  auto held = std::make_shared<transport::PeerResponse>(std::move(res));
  gw.audited(std::move(record), [reply, held](Status st) {
    if (!st) {
      return (*reply)(transport::PeerResponse::error(503, "audit_unavailable",
                                                     "the audit trail cannot be written"));
    }
    (*reply)(std::move(*held));
  });
}

std::string decode_reason(std::string_view v) {
  std::string out;
  if (!percent_decode(v, out)) out = std::string(v);
  return valid_utf8(out);
}

std::string encode_reason(std::string_view reason) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : reason) {
    const auto u = static_cast<unsigned char>(c);
    if ((u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') || u == '-' || u == '_' ||
        u == '.' || u == '~') {
      out += c;
    } else {
      out += '%';
      out += hex[u >> 4];
      out += hex[u & 15];
    }
  }
  return out;
}

policy::Function network_function(const ApiRequest& req) {
  return req.msg[kPurposeHeader] == "emergency" ? policy::Function::emergency : policy::Function::view;
}

std::optional<policy::Function> peer_function(std::string_view path) {
  if (path == "/peer/v1/directives" || path == "/peer/v1/health") return std::nullopt;
  return policy::Function::serve;
}

std::uint64_t answer_bytes(std::uint64_t size, bool raw) { return raw ? size : size + (size + 2) / 3 * 4; }

namespace {
/// `bytes` counted in gw.memory (null without a budget), or `overloaded`.
Result<std::shared_ptr<const void>> take_memory(Gateway& gw, std::uint64_t bytes) {
  if (gw.memory == nullptr) return std::shared_ptr<const void>();
  auto hold = gw.memory->try_hold(bytes);
  if (!hold) return make_error("overloaded", "the gateway holds as many documents in memory as it may");
  return hold;
}
}  // namespace

bool hold_memory(Gateway& gw, Keep& keep, std::uint64_t bytes) {
  auto taken = take_memory(gw, bytes);
  if (!taken) return false;
  keep.add(std::move(*taken));
  return true;
}

void read_all_content(Gateway& gw, const std::string& id, std::uint64_t size, std::uint64_t held,
                      std::function<void(Result<HeldContent>)> done) {
  auto taken = take_memory(gw, held);
  if (!taken) return done(std::move(taken).error());
  auto hold = std::move(*taken);
  auto buf = std::make_shared<std::string>();
  // The record's size is a hint only (the store checks the content itself):
  // bounded by the largest document the local API accepts.
  buf->reserve(static_cast<std::size_t>(std::min<std::uint64_t>(size, gw.config()->local_api.max_body_bytes)));
  gw.store.read_content(
      id,
      [buf](crypto::ByteView chunk) -> Status {
        buf->append(reinterpret_cast<const char*>(chunk.data()), chunk.size());
        return {};
      },
      [buf, hold = std::move(hold), done = std::move(done)](Result<void> st) mutable {
        if (!st) return done(std::move(st).error());
        done(HeldContent{std::move(*buf), std::move(hold)});
      });
}

void read_raw_content(Gateway& gw, const std::string& id, std::uint64_t size,
                      std::function<void(Result<RawContent>)> done) {
  auto taken = take_memory(gw, std::min<std::uint64_t>(size, kStreamWindow));
  if (!taken) return done(std::move(taken).error());
  auto hold = std::move(*taken);
  // A window ends on the chunk that reaches max_bytes: at most kStreamWindow
  // bytes, and a document of kStreamWindow bytes fits in one.
  constexpr std::size_t max_bytes = kStreamWindow - crypto::kStreamChunk + 1;
  auto cursor = gw.store.document_cursor(id);
  cursor->next(max_bytes, [cursor, size, hold = std::move(hold), done = std::move(done)](
                              Result<std::string> first) mutable {
    if (!first) return done(std::move(first).error());
    if (cursor->ended()) return done(RawContent{std::move(*first), nullptr, std::move(hold)});
    auto body = std::make_shared<transport::BodyStream>();
    body->size = size;
    body->next = [cursor, pending = std::make_shared<std::string>(std::move(*first))](transport::BodyStream::Piece piece) {
      if (!pending->empty()) {
        std::string p = std::move(*pending);
        pending->clear();
        return piece(std::move(p));
      }
      cursor->next(max_bytes, std::move(piece));
    };
    done(RawContent{{}, std::move(body), std::move(hold)});
  });
}

bool wants_raw(std::string_view accept) { return accept.find(kRawContentType) != std::string_view::npos; }

std::string document_header(const json& meta) {
  return crypto::to_base64(crypto::as_bytes(json_text(meta)));
}

HttpResponse raw_document_response(const json& meta, std::string content) {
  HttpResponse res = text_response(http::status::ok, std::move(content), kRawContentType);
  res.set(kDocumentHeader, document_header(meta));
  return res;
}

HttpResponse json_document_response(json meta, std::string_view content) {
  meta["content_base64"] = crypto::to_base64(crypto::as_bytes(content));
  return json_response(http::status::ok, meta);
}

std::optional<json> read_document_header(std::string_view value) {
  const auto bytes = crypto::from_base64(value);
  if (!bytes) return std::nullopt;
  auto j = json::parse(bytes->begin(), bytes->end(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  return j;
}

HttpResponse document_response(bool raw, json meta, std::string content) {
  if (raw) return raw_document_response(meta, std::move(content));
  return json_document_response(std::move(meta), content);
}

namespace {
// The state of head_checked(): calls to next() never overlap.
struct HeadCheck : std::enable_shared_from_this<HeadCheck> {
  std::shared_ptr<transport::BodyStream> inner;
  std::string type;
  std::string head;  // gathered until it can be checked
  bool checked = false, ended = false;

  void gather(transport::BodyStream::Piece done) {
    inner->next([self = shared_from_this(), done = std::move(done)](Result<std::string> piece) mutable {
      self->take(std::move(done), std::move(piece));
    });
  }
  void take(transport::BodyStream::Piece done, Result<std::string> piece) {
    if (!piece) return done(std::move(piece));
    ended = piece->empty();
    head += *piece;
    if (!ended && head.size() < policy::kContentHeadBytes) return gather(std::move(done));
    const auto d = policy::check_content_head(type, head);
    if (!d.allowed) {
      ended = true;
      return done(make_error(d.code, "the document's content fails its checks (" + d.rule + ")"));
    }
    checked = true;
    done(std::move(head));
  }
};
}  // namespace

std::shared_ptr<transport::BodyStream> head_checked(std::shared_ptr<transport::BodyStream> inner,
                                                   std::string content_type) {
  auto st = std::make_shared<HeadCheck>();
  st->inner = std::move(inner);
  st->type = std::move(content_type);
  auto out = std::make_shared<transport::BodyStream>();
  out->size = st->inner->size;
  out->next = [st](transport::BodyStream::Piece done) {
    if (st->ended) return done(std::string());
    if (st->checked) return st->inner->next(std::move(done));
    st->gather(std::move(done));  // the head, checked, as one piece
  };
  return out;
}

}  // namespace hiegate::daemon
