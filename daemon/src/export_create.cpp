// POST /v1/exports: one copy-out, printout, secondary use or third-party
// provision. Order: mode gate, request syntax, the user, (one export per
// user at a time) the named approval, the patient's consent (third party),
// the day's count, policy::decide_export, the documents' content (and
// de-identification), the ticket — recorded before any content is returned.
#include <nlohmann/json.hpp>

#include "clinical_common.hpp"
#include "export_common.hpp"
#include "hiegate/crypto/encoding.hpp"
#include "hiegate/crypto/primitives.hpp"
#include "hiegate/crypto/secure_buffer.hpp"
#include "hiegate/daemon/mode_api.hpp"
#include "hiegate/daemon/store.hpp"
#include "hiegate/policy/deidentify.hpp"

namespace hiegate::daemon::exports {

using nlohmann::json;

namespace {

struct Body {
  policy::ExportRequest req;
  std::string approval_id;
  std::string consent_ref;  ///< third_party.consent: the written consent's reference
};

Result<Body> parse_export(const json& b, const std::string& facility) {
  for (const auto& [k, v] : b.items()) {
    if (k != "patient" && k != "documents" && k != "kind" && k != "purpose" && k != "approval" &&
        k != "third_party") {
      return make_error("invalid_request", "unknown member \"" + k + "\"");
    }
  }
  Body out;
  auto& r = out.req;
  r.facility = facility;
  if (!b.contains("patient") || !b["patient"].is_string()) return make_error("invalid_request", "\"patient\" is required");
  r.patient = b["patient"];
  if (!b.contains("documents") || !b["documents"].is_array() || b["documents"].size() > kMaxExportDocuments) {
    return make_error("invalid_request", "\"documents\" must be a list of at most 100 {id, facility?}");
  }
  for (const auto& d : b["documents"]) {
    if (!d.is_object() || !d.contains("id") || !d["id"].is_string() ||
        (d.contains("facility") && !d["facility"].is_string()) || d.size() > (d.contains("facility") ? 2U : 1U)) {
      return make_error("invalid_request", "each document is {\"id\", \"facility\"?}");
    }
    r.documents.push_back({d["id"], d.value("facility", facility)});
  }
  if (!b.contains("kind") || !b["kind"].is_string() || !policy::parse_export_kind(b["kind"].get<std::string>())) {
    return make_error("invalid_request", "\"kind\" must be media, print, secondary_use or third_party");
  }
  r.kind = *policy::parse_export_kind(b["kind"].get<std::string>());
  if (b.contains("purpose") && !b["purpose"].is_string()) return make_error("invalid_request", "\"purpose\" must be a string");
  r.purpose = b.value("purpose", std::string());
  if (b.contains("approval")) {
    if (!b["approval"].is_string() || !policy::is_local_id(b["approval"].get<std::string>())) {
      return make_error("invalid_request", "\"approval\" must be an approval id");
    }
    out.approval_id = b["approval"];
  }
  if (b.contains("third_party")) {
    const json& tp = b["third_party"];
    if (r.kind != policy::ExportKind::third_party || !tp.is_object()) {
      return make_error("invalid_request", "\"third_party\" is an object, for kind third_party only");
    }
    for (const auto& [k, v] : tp.items()) {
      if ((k != "basis" && k != "consent" && k != "justification" && k != "recipient") || !v.is_string()) {
        return make_error("invalid_request", "third_party has string members basis, consent, justification, recipient");
      }
    }
    if (tp.contains("basis")) {
      r.third_party.basis = policy::parse_legal_basis(tp["basis"].get<std::string>());
      if (!r.third_party.basis) {
        return make_error("invalid_request", "third_party.basis must be law, vital_interest, public_health or public_agency");
      }
    }
    out.consent_ref = tp.value("consent", std::string());
    if (out.consent_ref.size() > 128) return make_error("invalid_request", "third_party.consent is at most 128 bytes");
    r.third_party.justification = tp.value("justification", std::string());
    r.third_party.recipient = tp.value("recipient", std::string());
    if (r.third_party.justification.size() > 4000 || r.third_party.recipient.size() > 256) {
      return make_error("invalid_request", "third_party.justification or recipient is too long");
    }
  }
  return out;
}

struct LoadedDocument {
  std::string id, facility, content_type;
  std::string content;
};

/// The state of one export while its facts are gathered. Owns the user's
/// ledger slot; finish() releases it before answering.
struct Flow {
  Gateway& gw;
  std::shared_ptr<Responder> rp;
  std::shared_ptr<ExportLedger> ledger;
  std::unique_ptr<ExportSlot> slot;
  ExportUser user;
  Body body;
  policy::Time now{};
  policy::ExportDecision decision;
  std::vector<LoadedDocument> docs;
  std::shared_ptr<Keep> keep;  ///< the documents' place in the memory budget, until the answer is written

  /// Counts a document of `size` bytes (read, then packaged: twice) in the
  /// memory budget; false (and the answer sent) when it does not fit now.
  bool hold(std::uint64_t size) {
    if (hold_memory(gw, *keep, 2 * size)) return true;
    finish(memory_full_response());
    return false;
  }

  void finish(HttpResponse res) {
    if (slot) slot->release();
    rp->send(std::move(res));
  }
};
using FlowPtr = std::shared_ptr<Flow>;

HttpResponse refused(const policy::ExportDecision& d) {
  const auto status = d.code == "invalid_request" ? http::status::bad_request : http::status::forbidden;
  return export_refusal(d.code, d.rule, d.message, status);
}

void record_ticket(const FlowPtr& f);

/// Reads the documents one after another into f->docs, checking each is the patient's.
void load_documents(const FlowPtr& f, std::size_t i) {
  if (i == f->docs.size()) return record_ticket(f);
  const auto& want = f->body.req.documents[i];
  auto buf = std::make_shared<std::string>();
  auto sink = [buf](crypto::ByteView chunk) -> Status {
    buf->append(reinterpret_cast<const char*>(chunk.data()), chunk.size());
    return {};
  };
  auto got = [f, i, buf](const std::string& metadata_json, Result<void> st) {
    if (!st) {
      if (st.error().code == "not_found") {
        return f->finish(error_response(http::status::not_found, "document_not_found",
                                        "document " + f->docs[i].id + " is not available here"));
      }
      return f->finish(store_error(st.error()));
    }
    const auto meta = json::parse(metadata_json, nullptr, false);
    const std::string patient = meta.is_object() ? meta.value("patient", std::string()) : std::string();
    // A remote document's metadata may omit the patient; our own never does.
    if (patient != f->body.req.patient && !(patient.empty() && f->docs[i].facility != f->body.req.facility)) {
      return f->finish(bad_request("invalid_request", "document " + f->docs[i].id + " is not the patient's"));
    }
    f->docs[i].content_type = meta.is_object() ? meta.value("content_type", std::string()) : std::string();
    f->docs[i].content = std::move(*buf);
    load_documents(f, i + 1);
  };
  auto& store = f->gw.store;
  if (want.facility == f->body.req.facility) {
    store.get_document(want.id, [f, want, sink, got](Result<DocumentRecord> d) {
      if (!d) return got({}, Error(d.error()));
      if (!f->hold(d->content_size)) return;
      f->gw.store.read_content(want.id, sink, [got, meta = d->metadata_json](Result<void> st) { got(meta, std::move(st)); });
    });
  } else {
    const auto now = f->now.time_since_epoch().count();
    store.cache_get(want.facility, want.id, now, [f, want, sink, got, now](Result<CachedDocument> d) {
      if (!d) return got({}, Error(d.error()));
      if (!f->hold(d->content_size)) return;
      f->gw.store.cache_read(want.facility, want.id, now, sink,
                             [got, meta = d->metadata_json](Result<void> st) { got(meta, std::move(st)); });
    });
  }
}

/// Secondary use: one fresh key and shift for the whole export, forgotten after.
Status deidentify_all(std::vector<LoadedDocument>& docs) {
  crypto::SecureBuffer key(32);
  crypto::random_bytes(key.writable());
  std::uint8_t r[2];
  crypto::random_bytes(r);
  const int magnitude = 1 + (r[0] % 180);
  const std::chrono::days shift((r[1] & 1) != 0 ? magnitude : -magnitude);
  for (auto& d : docs) {
    auto out = policy::deidentify(d.content_type, d.content, {key.view(), shift});
    if (!out) return out.error();
    d.content = std::move(*out);
    d.content_type = "application/fhir+json";
  }
  return {};
}

void record_ticket(const FlowPtr& f) {
  if (f->decision.deidentify) {
    if (Status st = deidentify_all(f->docs); !st) {
      const bool opaque = st.error().code == "cannot_anonymize";
      return f->finish(export_refusal(opaque ? "cannot_anonymize" : "internal_error", "export.deidentify",
                                      opaque ? "a document cannot be de-identified (only FHIR JSON can): " + st.error().message
                                             : st.error().message,
                                      opaque ? http::status::unprocessable_entity : http::status::internal_server_error));
    }
  }
  const auto& req = f->body.req;
  ExportTicket t;
  t.id = req.ticket;
  t.user = req.actor.user;
  t.patient = req.patient;
  t.documents = req.documents;
  t.kind = req.kind;
  t.purpose = req.purpose;
  t.approval = f->decision.approval_id.value_or("");
  t.third_party_basis = f->decision.third_party_basis;
  if (req.kind == policy::ExportKind::third_party) {
    t.recipient = req.third_party.recipient;
    t.justification = req.third_party.justification;
    t.consent_ref = f->body.consent_ref;
  }
  t.watermark = f->decision.watermark;
  t.created_at = f->now;
  t.delete_by = f->decision.delete_by;
  f->gw.store.put_record(
      RecordTable::exports, StoredRecord{ticket_key(t.id), kTicketGroup, ticket_to_json(t).dump()},
      [f, t](Result<void> st) {
        if (!st) return f->finish(store_error(st.error()));
        f->ledger->track(t.id, t.delete_by);
        json docs = json::array();
        for (const auto& d : f->docs) {
          docs.push_back({{"id", d.id}, {"facility", d.facility}, {"content_type", d.content_type},
                          {"content_base64", crypto::to_base64(crypto::as_bytes(d.content))}});
        }
        json out = {{"ticket", t.id}, {"kind", policy::name(t.kind)}, {"watermark", t.watermark},
                    {"delete_by", policy::format_rfc3339(t.delete_by)},
                    {"quota_remaining", f->decision.quota_remaining}, {"documents", docs}};
        if (!t.approval.empty()) out["approval"] = t.approval;
        if (!t.third_party_basis.empty()) out["third_party_basis"] = t.third_party_basis;
        if (f->decision.deidentify) out["deidentified"] = true;
        auto created = json_response(http::status::created, out);
        created.set(http::field::location, "/v1/exports/" + t.id);
        f->finish(std::move(created));
      });
}

void decide(const FlowPtr& f) {
  f->gw.store.list_records(RecordTable::exports, kTicketGroup, [f](Result<std::vector<StoredRecord>> l) {
    if (!l) return f->finish(store_error(l.error()));
    auto policy = policy::ExportPolicy::create(f->user.config->policy.export_rules);
    if (!policy) return f->finish(store_error(policy.error()));
    auto& req = f->body.req;
    const auto day_start = policy::quota_day_start(f->now, policy->rules());
    for (const auto& rec : *l) {
      auto t = ticket_from_json(json::parse(rec.value, nullptr, false));
      if (t && t->user == req.actor.user && t->kind == req.kind && t->created_at >= day_start) ++req.used_today;
    }
    req.ticket = random_id();
    f->decision = policy::decide_export(req, *policy, f->user.mode.allowed, f->now);
    if (!f->decision.allowed) return f->finish(refused(f->decision));
    for (const auto& d : req.documents) f->docs.push_back({d.id, d.facility, {}, {}});
    load_documents(f, 0);
  });
}

/// Third party with a consent reference: the consent counts only while the
/// patient's registered consent to the network stands (withdrawal is an
/// objection; an expired consent no longer speaks for the patient).
void check_consent(const FlowPtr& f) {
  if (f->body.req.kind != policy::ExportKind::third_party || f->body.consent_ref.empty()) return decide(f);
  find_consent(f->gw, f->body.req.patient, [f](Result<std::optional<ConsentRecord>> c) {
    if (!c) return f->finish(store_error(c.error()));
    const auto rules = sharing_rules(*f->gw.config());
    f->body.req.third_party.patient_consent =
        policy::consent_standing(c->has_value() ? &(*c)->consent : nullptr, f->now, rules).allowed;
    decide(f);
  });
}

void load_approval(const FlowPtr& f) {
  if (f->body.approval_id.empty()) return check_consent(f);
  f->gw.store.get_record(RecordTable::exports, approval_key(f->body.approval_id), [f](Result<StoredRecord> rec) {
    if (!rec) {
      if (rec.error().code != "not_found") return f->finish(store_error(rec.error()));
      return f->finish(export_refusal("approval_invalid", "export.approval", "no such approval"));
    }
    auto a = approval_from_json(json::parse(rec->value, nullptr, false));
    if (!a) return f->finish(store_error(a.error()));
    f->body.req.approval = std::move(*a);
    check_consent(f);
  });
}

}  // namespace

void add_create_route(Router& router, Gateway& gw, std::shared_ptr<ExportLedger> ledger) {
  router.add(http::verb::post, "/v1/exports", [&gw, ledger](ApiRequest& req, Responder r) {
    const auto body = parse_object(req);
    if (!body) return r.send(bad_request("invalid_json", "the body must be a JSON object"));
    auto parsed = parse_export(*body, req.config->network.facility);
    if (!parsed) return r.send(bad_request(parsed.error().code, parsed.error().message));
    if (auto m = refuse_by_mode(gw.mode(), policy::required_function(parsed->req.kind))) return r.send(std::move(*m));
    auto rp = std::make_shared<Responder>(std::move(r));
    resolve_user(gw, req, rp, [&gw, rp, ledger, b = std::move(*parsed), keep = req.keep](ExportUser u) mutable {
      if (!ledger->try_begin(u.actor.user)) {
        return rp->send(export_refusal("export_in_progress", "export.request",
                                       "another export of this user is under way; retry when it is done",
                                       http::status::conflict));
      }
      auto f = std::make_shared<Flow>(Flow{gw, rp, ledger, std::make_unique<ExportSlot>(*ledger, u.actor.user),
                                           std::move(u), std::move(b), gw.clock(), {}, {}, keep});
      f->body.req.actor = f->user.actor;
      load_approval(f);
    });
  });
}

}  // namespace hiegate::daemon::exports
