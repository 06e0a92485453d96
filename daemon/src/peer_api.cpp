// Peer API (mutual TLS): other facilities list and fetch this facility's
// documents. The requesting facility is the certificate's identity; the
// user, role, purpose and emergency reason come from headers and are
// decided on here, with this facility's own consent registry (利用規程 第7条).
#include <nlohmann/json.hpp>

#include "clinical_common.hpp"
#include "hiegate/crypto/encoding.hpp"
#include "hiegate/daemon/events.hpp"
#include "hiegate/daemon/store.hpp"
#include "hiegate/policy/directive_bodies.hpp"
#include "hiegate/policy/rfc3339.hpp"
#include "routes.hpp"

namespace hiegate::daemon {

using nlohmann::json;
using transport::PeerReply;
using transport::PeerRequest;
using transport::PeerResponse;

namespace {

PeerResponse peer_json(unsigned status, const json& j) { return PeerResponse::json(status, json_text(j)); }

/// 503 for a store read that failed; `overloaded` (the memory budget is
/// full) says when to try again.
PeerResponse peer_store_error(const Error& e) {
  if (e.code != "overloaded") return PeerResponse::error(503, e.code, "the store failed");
  auto res = PeerResponse::error(503, e.code, e.message + "; try again shortly");
  res.headers.emplace_back("Retry-After", "1");
  return res;
}

PeerResponse peer_refusal(const policy::Decision& d) {
  return peer_json(403, {{"error",
                          {{"code", d.code},
                           {"message", d.message_en},
                           {"rule", d.rule},
                           {"localized", {{"ja", d.message_ja}, {"en", d.message_en}}}}}});
}

std::optional<PeerResponse> refuse_serve(const policy::OperatingMode& m) {
  if (m.allows(policy::Function::serve)) return std::nullopt;
  if (m.orders.stopped()) {
    const auto& s = m.orders.stopped_by.front();
    json e = {{"code", "network_stopped"},
              {"message", "this facility is stopped by the secretariat's order " + s.order_id},
              {"order", s.order_id},
              {"reason", policy::name(s.reason)}};
    if (s.message) e["localized"] = {{"ja", s.message->ja}, {"en", s.message->en}};
    return peer_json(503, {{"error", e}});
  }
  return peer_json(403, {{"error",
                          {{"code", "function_restricted"},
                           {"message", "this facility does not serve other facilities in its current mode"}}}});
}

/// The disclosure request as this facility sees it. The requesting facility
/// is the certificate's: a facility code in X-HIE-User is ignored.
struct Incoming {
  policy::DisclosureRequest req;
  std::string network_user;
};

Result<Incoming> read_incoming(const PeerRequest& pr, const policy::OperatingMode& mode) {
  Incoming in;
  in.req.requester_facility = pr.peer.facility;
  std::string user(pr.header(kUserHeader).value_or(""));
  if (const auto slash = user.find('/'); slash != std::string::npos) user = user.substr(slash + 1);
  if (!policy::is_local_id(user)) return make_error("invalid_user", "X-HIE-User must name the requesting user");
  in.network_user = pr.peer.facility + "/" + user;
  const auto role = policy::parse_role(pr.header(kRoleHeader).value_or(""));
  if (!role) return make_error("invalid_role", "X-HIE-Role must be a role of the network");
  in.req.role = *role;
  const auto purpose = policy::parse_purpose(pr.header(kPurposeHeader).value_or(""));
  if (!purpose) return make_error("invalid_purpose", "X-HIE-Purpose must be treatment or emergency");
  in.req.purpose = *purpose;
  in.req.reason = decode_reason(pr.header(kReasonHeader).value_or(""));
  in.req.requester_suspended =
      mode.orders.facility_suspended(pr.peer.facility) || mode.orders.user_suspended(in.network_user);
  return in;
}

/// A reply that waits for the request's audit record to be durable.
std::shared_ptr<PeerReply> audited_reply(Gateway& gw, PeerReply inner, std::shared_ptr<AuditRecord> rec) {
  auto plain = std::make_shared<PeerReply>(std::move(inner));
  return std::make_shared<PeerReply>(
      [&gw, plain, rec](PeerResponse res) { reply_audited(gw, plain, *rec, std::move(res)); });
}

std::shared_ptr<AuditRecord> disclosure_record(const PeerRequest& pr, std::string event) {
  auto rec = std::make_shared<AuditRecord>();
  rec->event = std::move(event);
  rec->action = AuditAction::read;
  rec->peer_facility = pr.peer.facility;
  return rec;
}

/// Decides one disclosure of `patient`'s records; calls `next` with the
/// decision when allowed, else replies with the refusal.
void decide(Gateway& gw, const PeerRequest& pr, const std::string& patient, std::shared_ptr<PeerReply> reply,
            std::shared_ptr<AuditRecord> rec, std::function<void(policy::DisclosureDecision, Incoming)> next) {
  const auto mode = gw.mode();
  rec->patient = patient;
  if (auto refuse = refuse_serve(mode)) {
    rec->reason_code = "network_stopped";
    return (*reply)(std::move(*refuse));
  }
  auto in = read_incoming(pr, mode);
  if (!in) {
    rec->reason_code = in.error().code;
    return (*reply)(PeerResponse::error(400, in.error().code, in.error().message));
  }
  rec->user = in->network_user;
  rec->role = std::string(policy::name(in->req.role));
  rec->purpose = std::string(policy::name(in->req.purpose));
  if (in->req.purpose == policy::Purpose::emergency) rec->detail = in->req.reason;
  // A request that names its patient gets only that patient's records,
  // decided before consent or emergency rules look at it.
  if (const auto d = policy::decide_document_patient(pr.header(kPatientHeader).value_or(""), patient); !d) {
    rec->reason_code = d.code;
    rec->rule = d.rule;
    return (*reply)(peer_refusal(d));
  }
  find_consent(gw, patient, [&gw, reply, rec, in = std::move(*in), mode, next = std::move(next)](
                                Result<std::optional<ConsentRecord>> c) mutable {
    if (!c) return (*reply)(PeerResponse::error(503, c.error().code, "the store failed"));
    const auto cfg = gw.config();
    const auto d = policy::decide_disclosure(in.req, c->has_value() ? &(*c)->consent : nullptr, gw.clock(),
                                             mode.allowed, gw.disaster_for(in.req.requester_facility),
                                             sharing_rules(*cfg));
    rec->rule = d.decision.rule;
    rec->emergency = d.emergency;
    if (!d.decision) {
      rec->reason_code = d.decision.code;
      gw.log.log(Level::info, events::kAccessRefused, "disclosure refused",
                 {{"PEER", in.req.requester_facility}, {"CODE", d.decision.code}, {"RULE", d.decision.rule}});
      return (*reply)(peer_refusal(d.decision));
    }
    if (d.emergency) {
      gw.log.log(Level::notice, events::kEmergencyAccess, "emergency disclosure without consent",
                 {{"PEER", in.req.requester_facility}, {"USER", in.network_user}});
    }
    next(d, std::move(in));
  });
}

void list_documents(Gateway& gw, const PeerRequest& pr, PeerReply reply_fn) {
  auto rec = disclosure_record(pr, "disclosure_list");
  auto reply = audited_reply(gw, std::move(reply_fn), rec);
  // /peer/v1/patients/{patient}/documents
  constexpr std::string_view prefix = "/peer/v1/patients/";
  std::string_view rest = std::string_view(pr.path).substr(prefix.size());
  const auto slash = rest.find('/');
  if (slash == std::string_view::npos || rest.substr(slash) != "/documents") {
    return (*reply)(PeerResponse::error(404, "not_found", "no such resource"));
  }
  const std::string patient(rest.substr(0, slash));
  if (!policy::is_patient_id(patient)) {
    return (*reply)(PeerResponse::error(400, "invalid_patient", "patient ids are [A-Za-z0-9-]{1,64}"));
  }
  decide(gw, pr, patient, reply, rec, [&gw, reply, patient, rec](policy::DisclosureDecision d, Incoming in) {
    gw.store.list_documents(patient, [&gw, reply, d, rec, requester = in.req.requester_facility](
                                         Result<std::vector<DocumentRecord>> docs) {
      if (!docs) return (*reply)(PeerResponse::error(503, docs.error().code, "the store failed"));
      const auto cfg = gw.config();
      const auto rules = sharing_rules(*cfg);
      const bool disaster = gw.disaster_for(requester);
      json out = json::array();
      for (const auto& doc : *docs) {
        json m = json::parse(doc.metadata_json, nullptr, false);
        if (m.is_discarded()) continue;
        if (d.emergency && !policy::emergency_type_allowed(m.value("type", ""), disaster, rules)) continue;
        m.erase("patient");
        rec->document_ids.push_back(doc.document_id);
        m["id"] = doc.document_id;
        m["size"] = doc.content_size;
        out.push_back(std::move(m));
      }
      (*reply)(peer_json(200, {{"documents", out}, {"emergency", d.emergency}, {"rule", d.decision.rule}}));
    });
  });
}

void fetch_document(Gateway& gw, const PeerRequest& pr, PeerReply reply_fn) {
  auto rec = disclosure_record(pr, "disclosure_read");
  auto reply = audited_reply(gw, std::move(reply_fn), rec);
  const std::string id = pr.path.substr(std::string_view("/peer/v1/documents/").size());
  rec->document_ids = {id};
  if (!policy::is_document_id(id)) {
    return (*reply)(PeerResponse::error(400, "invalid_document", "document ids are [A-Za-z0-9._-]{1,64}"));
  }
  gw.store.get_document(id, [&gw, pr, reply, id, rec](Result<DocumentRecord> doc) {
    if (!doc) {
      // Unknown and refused look alike to a facility without a decision.
      return (*reply)(PeerResponse::error(404, "not_found", "no such document"));
    }
    json meta = json::parse(doc->metadata_json, nullptr, false);
    const bool decision_only = pr.query == "decision_only=1";
    const bool raw = wants_raw(pr.header("Accept").value_or(""));
    decide(gw, pr, doc->patient_id, reply, rec,
           [&gw, reply, id, meta, decision_only, raw, size = doc->content_size](policy::DisclosureDecision d,
                                                                               Incoming in) mutable {
      const auto rules = sharing_rules(*gw.config());
      const bool disaster = gw.disaster_for(in.req.requester_facility);
      if (d.emergency && !policy::emergency_type_allowed(meta.value("type", ""), disaster, rules)) {
        return (*reply)(peer_refusal(policy::Decision::refuse(
            "emergency.document_types", "emergency_type_not_allowed",
            "緊急時閲覧ではこの種類の文書は閲覧できません",
            "This document type is not available under emergency access")));
      }
      if (decision_only) {
        meta["id"] = id;
        meta["emergency"] = d.emergency;
        meta["rule"] = d.decision.rule;
        return (*reply)(peer_json(200, meta));
      }
      meta["id"] = id;
      meta["emergency"] = d.emergency;
      meta["rule"] = d.decision.rule;
      if (raw) {
        // The content as the body, the metadata in a header: no base64 and
        // no JSON parse of the content on either side; a large document
        // piece by piece.
        return read_raw_content(gw, id, size, [reply, meta, size](Result<RawContent> c) mutable {
          if (!c) return (*reply)(peer_store_error(c.error()));
          meta["size"] = c->stream ? size : c->bytes.size();
          PeerResponse res;
          res.content_type = std::string(kRawContentType);
          res.headers.emplace_back(kDocumentHeader, document_header(meta));
          res.body = std::move(c->bytes);
          res.stream = std::move(c->stream);
          res.keep = std::move(c->hold);
          (*reply)(std::move(res));
        });
      }
      read_all_content(gw, id, size, answer_bytes(size, raw), [reply, meta](Result<HeldContent> c) mutable {
        if (!c) return (*reply)(peer_store_error(c.error()));
        auto* content = &c->bytes;
        meta["size"] = content->size();
        meta["content_base64"] = crypto::to_base64(crypto::as_bytes(*content));
        auto res = peer_json(200, meta);
        res.keep = std::move(c->hold);
        (*reply)(std::move(res));
      });
    });
  });
}

}  // namespace

std::vector<transport::PeerRoute> peer_routes(Gateway& gw) {
  std::vector<transport::PeerRoute> routes;
  routes.push_back({"GET", "/peer/v1/patients/*", transport::Caller::facility, {},
                    [&gw](const PeerRequest& pr, PeerReply reply) { list_documents(gw, pr, std::move(reply)); }});
  routes.push_back({"GET", "/peer/v1/documents/*", transport::Caller::facility, {},
                    [&gw](const PeerRequest& pr, PeerReply reply) { fetch_document(gw, pr, std::move(reply)); }});
  return routes;
}

}  // namespace hiegate::daemon
