// Local API of the clinical flows (利用規程 第6・11条): this facility's
//   documents, a patient's documents across the network, remote fetch,
//   emergency accesses; and the wiring of every clinical route with its
//   audit (the registries and the cache: registry_api.cpp). Decisions come
//   from policy/; this file only gathers the inputs (store, peers, mode) and
//   answers.
#include <algorithm>
#include <deque>
#include <map>
#include <set>
#include <mutex>
#include <nlohmann/json.hpp>

#include "clinical_common.hpp"
#include "clinical_routes.hpp"
#include "peer_answers.hpp"
#include "hiegate/crypto/encoding.hpp"
#include "hiegate/daemon/events.hpp"
#include "hiegate/daemon/mode_api.hpp"
#include "hiegate/daemon/store.hpp"
#include "hiegate/daemon/store_wait.hpp"
#include "hiegate/policy/content.hpp"
#include "hiegate/policy/rfc3339.hpp"
#include "hiegate/transport/peer_client.hpp"
#include "routes.hpp"

namespace hiegate::daemon {

using nlohmann::json;
namespace {

/// Break-glass windows, per (user, patient). Each opening is stored sealed
/// (table `emergencies`) before the access it opens is served, so a restart
/// keeps both the open windows and the review list; memory holds the newest
/// kHistory openings for GET /v1/emergency-accesses.
class EmergencyWindows {
public:
  struct Entry {
    std::string user, patient, reason;
    policy::TimePoint opened_at, expires_at;
  };
  static constexpr std::size_t kHistory = 10'000;
  static constexpr const char* kGroup = "emergency";

  /// Loads the stored openings; blocks, so only before the loop runs.
  Status load(Store& store) {
    auto rows = wait_for<std::vector<StoredRecord>>(
        [&](auto cb) { store.list_records(RecordTable::emergencies, kGroup, std::move(cb)); });
    if (!rows) return std::move(rows).error();
    std::vector<Entry> entries;
    for (const auto& row : *rows) {
      const auto j = json::parse(row.value, nullptr, false);
      auto opened = j.is_object() ? policy::parse_rfc3339(j.value("opened_at", "")) : std::nullopt;
      auto expires = j.is_object() ? policy::parse_rfc3339(j.value("expires_at", "")) : std::nullopt;
      if (!opened || !expires) {
        return make_error("store_corrupt", "a stored emergency access record is malformed");
      }
      entries.push_back({j.value("user", ""), j.value("patient", ""), j.value("reason", ""), *opened, *expires});
    }
    std::sort(entries.begin(), entries.end(),
              [](const Entry& a, const Entry& b) { return a.opened_at < b.opened_at; });
    for (auto& e : entries) remember(std::move(e));
    return {};
  }
  std::optional<Entry> find(const std::string& user, const std::string& patient) {
    std::lock_guard lk(mu_);
    const auto it = open_.find({user, patient});
    if (it == open_.end()) return std::nullopt;
    return it->second;
  }
  /// Stores the opening, then makes it visible; `done` gets the store's verdict.
  void open(Store& store, Entry e, std::function<void(Status)> done) {
    const json j = {{"user", e.user}, {"patient", e.patient}, {"reason", e.reason},
                    {"opened_at", policy::format_rfc3339(e.opened_at)},
                    {"expires_at", policy::format_rfc3339(e.expires_at)}};
    StoredRecord rec{e.user + "\n" + e.patient + "\n" + policy::format_rfc3339(e.opened_at), kGroup,
                     json_text(j)};
    store.put_record(RecordTable::emergencies, std::move(rec),
                     [this, e = std::move(e), done = std::move(done)](Result<void> r) mutable {
                       if (r) remember(std::move(e));
                       done(r ? Status{} : Status(std::move(r).error()));
                     });
  }
  std::vector<Entry> history() {
    std::lock_guard lk(mu_);
    return {history_.begin(), history_.end()};
  }

private:
  void remember(Entry e) {
    std::lock_guard lk(mu_);
    history_.push_back(e);
    if (history_.size() > kHistory) history_.pop_front();
    auto& slot = open_[{e.user, e.patient}];
    if (slot.expires_at <= e.expires_at) slot = std::move(e);
  }

  std::mutex mu_;
  std::map<std::pair<std::string, std::string>, Entry> open_;
  std::deque<Entry> history_;
};

/// Documents whose disclosing facility last refused them: a cached copy of
/// such a document is never served until the facility allows it again.
class RefusedDocuments {
public:
  void refused(const std::string& facility, const std::string& id) {
    std::lock_guard lk(mu_);
    set_.insert(facility + "/" + id);
  }
  void allowed(const std::string& facility, const std::string& id) {
    std::lock_guard lk(mu_);
    set_.erase(facility + "/" + id);
  }
  bool is_refused(const std::string& facility, const std::string& id) {
    std::lock_guard lk(mu_);
    return set_.count(facility + "/" + id) != 0;
  }

private:
  std::mutex mu_;
  std::set<std::string> set_;
};

/// What every clinical request resolves first: the acting user and purpose.
struct Actor {
  std::shared_ptr<Responder> rp;       ///< answers only after the audit record is durable
  std::shared_ptr<AuditRecord> audit;  ///< the request's record; later stages add to it
  policy::UserRecord user;
  policy::Purpose purpose = policy::Purpose::treatment;
  std::string reason;
  policy::OperatingMode mode;
};

/// Resolves X-HIE-User (registered, active, not suspended by an order),
/// X-HIE-Purpose and, for emergencies, the break-glass window. Calls `next`
/// with the actor, or answers the refusal itself.
/// A Responder that appends `rec` (with the outcome of the answer) and
/// answers only once it is durable — or refuses with audit_unavailable.
std::shared_ptr<Responder> audited_responder(Gateway& gw, std::shared_ptr<Responder> inner,
                                             std::shared_ptr<AuditRecord> rec) {
  return std::make_shared<Responder>([&gw, inner, rec](HttpResponse res, std::shared_ptr<transport::BodyStream> body) {
    send_audited(gw, inner, *rec, std::move(res), std::move(body));
  });
}

void resolve_actor(Gateway& gw, EmergencyWindows& windows, const ApiRequest& req,
                   std::shared_ptr<Responder> plain, const std::string& patient,
                   std::function<void(Actor)> next) {
  auto rec = std::make_shared<AuditRecord>();
  rec->event = "decision";
  rec->action = AuditAction::read;
  rec->user = gw.config()->network.facility + "/" + valid_utf8(req.msg[kUserHeader]);
  rec->patient = patient;
  rec->purpose = std::string(req.msg[kPurposeHeader]);
  rec->request_id = req.request_id;
  auto r = audited_responder(gw, std::move(plain), rec);
  const std::string user_id(req.msg[kUserHeader]);
  if (!policy::is_local_id(user_id)) {
    return r->send(bad_request("invalid_user", "X-HIE-User must name a registered user ([A-Za-z0-9._-]{1,64})"));
  }
  const std::string purpose(req.msg[kPurposeHeader]);
  const std::string reason = decode_reason(req.msg[kReasonHeader]);
  find_user(gw, user_id, [&gw, &windows, r, rec, user_id, purpose, reason, patient,
                          next = std::move(next)](Result<std::optional<policy::UserRecord>> u) {
    if (!u) return r->send(store_error(u.error()));
    const ConfigPtr cfg = gw.config();
    Actor a;
    a.mode = gw.mode();
    const std::string network_user = cfg->network.facility + "/" + user_id;
    const policy::Decision who =
        policy::decide_user(u->has_value() ? &**u : nullptr, a.mode.orders.user_suspended(network_user));
    a.rp = r;
    a.audit = rec;
    if (!who) {
      rec->reason_code = who.code;
      rec->rule = who.rule;
      return r->send(refusal(who));
    }
    a.user = **u;
    rec->role = std::string(policy::name(a.user.role));
    const auto rules = sharing_rules(*cfg);
    const policy::Decision view = policy::decide_view(a.user, purpose, a.mode.allowed, rules);
    if (!view) {
      rec->reason_code = view.code;
      rec->rule = view.rule;
      if (view.code == "function_restricted") {
        if (auto m = refuse_by_mode(a.mode, policy::Function::view)) return r->send(std::move(*m));
      }
      return r->send(refusal(view, view.code == "invalid_purpose" ? http::status::bad_request
                                                                  : http::status::forbidden));
    }
    a.purpose = *policy::parse_purpose(purpose);
    a.reason = reason;
    if (a.purpose == policy::Purpose::emergency) {
      const auto now = gw.clock();
      const auto open = windows.find(user_id, patient);
      std::optional<policy::EmergencyWindow> window;
      if (open) window = policy::EmergencyWindow{open->opened_at, open->expires_at};
      const auto check = policy::decide_emergency(a.user.role, reason, window, now, a.mode.allowed,
                                                  a.mode.orders.disaster, rules);
      rec->emergency = true;
      rec->detail = reason;
      if (!check.decision) {
        rec->reason_code = check.decision.code;
        rec->rule = check.decision.rule;
        if (check.decision.code == "function_restricted") {
          if (auto m = refuse_by_mode(a.mode, policy::Function::emergency)) return r->send(std::move(*m));
        }
        return r->send(refusal(check.decision));
      }
      // Within an open window the disclosing side still gets the reason
      // that opened it.
      if (a.reason.empty() && open) a.reason = open->reason;
      rec->detail = a.reason;
      rec->rule = check.decision.rule;
      if (check.opens_window) {
        // The window is stored before the access it opens is served: a
        // store failure refuses the access (fail closed).
        const auto until = policy::format_rfc3339(check.window_expires);
        return windows.open(gw.store, {user_id, patient, reason, now, check.window_expires},
                            [&gw, r, network_user, until, a = std::move(a), next](Status st) mutable {
                              if (!st) return r->send(store_error(st.error()));
                              gw.log.log(Level::notice, events::kEmergencyAccess, "emergency access opened",
                                         {{"USER", network_user}, {"UNTIL", until}});
                              next(std::move(a));
                            });
      }
    }
    next(std::move(a));
  });
}

// `patient`: the patient a fetch names, checked by the disclosing side too.
transport::HeaderList peer_headers(const Config& cfg, const Actor& a, const std::string& patient = {}) {
  transport::HeaderList h = {{kUserHeader, cfg.network.facility + "/" + a.user.id},
                             {kRoleHeader, std::string(policy::name(a.user.role))},
                             {kPurposeHeader, std::string(policy::name(a.purpose))}};
  if (a.purpose == policy::Purpose::emergency) h.emplace_back(kReasonHeader, encode_reason(a.reason));
  if (!patient.empty()) h.emplace_back(kPatientHeader, patient);
  return h;
}

// A fetched document's access is recorded under the document's patient (the
// disclosure report of 規程 第20条 finds it), and a fetch that named its
// patient gets only that patient's document. The refusal, if any.
std::optional<HttpResponse> refuse_other_patient(AuditRecord& rec, const std::string& named, const json& meta) {
  const auto it = meta.find("patient");
  const std::string actual = it != meta.end() && it->is_string() ? it->get<std::string>() : std::string();
  if (!actual.empty()) rec.patient = actual;
  const auto d = policy::decide_document_patient(named, actual);
  if (d) return std::nullopt;
  return refusal(d);
}

// --- own documents ----------------------------------------------------------

// What a publication and a withdrawal check before anything is read: the
// document id, an order allowing publishing, a user named (whose record
// require_user then looks up). The refusal, if any.
std::optional<HttpResponse> refuse_publication(Gateway& gw, const ApiRequest& req, const std::string& id) {
  if (!policy::is_document_id(id)) return bad_request("invalid_document", "document ids are [A-Za-z0-9._-]{1,64}");
  if (auto m = refuse_by_mode(gw.mode(), policy::Function::publish)) return m;
  if (!policy::is_local_id(std::string(req.msg[kUserHeader]))) {
    return bad_request("invalid_user", "X-HIE-User must name a registered user ([A-Za-z0-9._-]{1,64})");
  }
  return std::nullopt;
}

void add_document_routes(Router& router, Gateway& gw, std::shared_ptr<EmergencyWindows>) {
  router.add_streamed(http::verb::put, "/v1/documents/{id}", [&gw](ApiRequest& req, Responder r) {
    const std::string id(req.param("id"));
    if (auto refused = refuse_publication(gw, req, id)) return r.send(std::move(*refused));
    if (req.body) return publish_raw(gw, req, std::move(r), id);
    const auto body = parse_body(req);
    if (!body || !body->is_object()) return r.send(bad_request("invalid_json", "the body must be a JSON object"));
    auto meta = document_metadata(*body);
    if (!meta) return r.send(bad_request(meta.error().code, meta.error().message));
    if (!body->contains("content_base64") || !(*body)["content_base64"].is_string()) {
      return r.send(bad_request("invalid_request", "\"content_base64\" is required"));
    }
    auto content = crypto::from_base64((*body)["content_base64"].get<std::string>());
    if (!content) return r.send(bad_request("invalid_request", "\"content_base64\" is not valid base64"));
    const std::string_view bytes(reinterpret_cast<const char*>(content->data()), content->size());
    if (const auto d = policy::check_content((*meta)["content_type"].get<std::string>(), bytes); !d) {
      return r.send(refusal(d, http::status::unsupported_media_type));
    }
    auto rp = std::make_shared<Responder>(std::move(r));
    require_user(gw, req, {}, "publishing is",
                 [&gw, rp, id, meta = std::move(*meta), content = std::move(*content)](
                     std::optional<HttpResponse> refused, const std::string&) mutable {
      if (refused) return rp->send(std::move(*refused));
      DocumentRecord rec;
      rec.patient_id = meta["patient"];
      rec.document_id = id;
      rec.metadata_json = meta.dump();
      rec.published_at = gw.clock().time_since_epoch().count();
      auto data = std::make_shared<crypto::Bytes>(std::move(content));
      auto pos = std::make_shared<std::size_t>(0);
      crypto::Source src = [data, pos](std::span<std::uint8_t> out) -> Result<std::size_t> {
        const std::size_t n = std::min(out.size(), data->size() - *pos);
        std::copy_n(data->data() + *pos, n, out.data());
        *pos += n;
        return n;
      };
      gw.store.publish(std::move(rec), std::move(src), [rp, data, meta, id](Result<void> st) mutable {
        if (!st) return rp->send(store_error(st.error()));
        meta["id"] = id;
        meta["size"] = data->size();
        rp->send(json_response(http::status::ok, meta));
      });
    });
  });
  // A read of one of this facility's own documents: the same user rules as
  // any clinical read, audited with the patient taken from the document.
  router.add(http::verb::get, "/v1/documents/{id}", [&gw](ApiRequest& req, Responder r) {
    const std::string id(req.param("id"));
    if (!policy::is_document_id(id)) {
      return r.send(bad_request("invalid_document", "document ids are [A-Za-z0-9._-]{1,64}"));
    }
    const std::string user_id(req.msg[kUserHeader]);
    auto rec = std::make_shared<AuditRecord>();
    rec->event = "document_read_local";
    rec->action = AuditAction::read;
    rec->user = gw.config()->network.facility + "/" + valid_utf8(user_id);
    rec->request_id = req.request_id;
    rec->document_ids = {id};
    auto rp = audited_responder(gw, std::make_shared<Responder>(std::move(r)), rec);
    if (!policy::is_local_id(user_id)) {
      return rp->send(bad_request("invalid_user", "X-HIE-User must name a registered user ([A-Za-z0-9._-]{1,64})"));
    }
    const bool raw = wants_raw(req.msg[http::field::accept]);
    // The document first, so that even a refusal is recorded with its patient.
    gw.store.get_document(id, [&gw, rp, rec, id, raw, user_id, keep = req.keep](Result<DocumentRecord> d) {
      if (!d) return rp->send(store_error(d.error()));
      rec->patient = d->patient_id;
      auto meta = std::make_shared<json>(json::parse(d->metadata_json, nullptr, false));
      find_user(gw, user_id, [&gw, rp, rec, id, raw, meta, keep, size = d->content_size](
                                 Result<std::optional<policy::UserRecord>> u) {
        if (!u) return rp->send(store_error(u.error()));
        const auto who =
            policy::decide_user(u->has_value() ? &**u : nullptr, gw.mode().orders.user_suspended(rec->user));
        if (!who) {
          rec->reason_code = who.code;
          rec->rule = who.rule;
          return rp->send(refusal(who));
        }
        rec->role = std::string(policy::name((*u)->role));
        if (raw) {
          return read_raw_content(gw, id, size, [rp, meta, id, keep, size](Result<RawContent> c) {
            if (!c) return rp->send(store_error(c.error()));
            json m = *meta;
            m["id"] = id;
            m["size"] = c->stream ? size : c->bytes.size();
            keep->add(std::move(c->hold));
            rp->send(raw_document_response(m, std::move(c->bytes)), std::move(c->stream));
          });
        }
        read_all_content(gw, id, size, answer_bytes(size, raw), [rp, meta, id, raw, keep](Result<HeldContent> c) {
          if (!c) return rp->send(store_error(c.error()));
          json m = *meta;
          m["id"] = id;
          m["size"] = c->bytes.size();
          keep->add(std::move(c->hold));
          rp->send(document_response(raw, std::move(m), std::move(c->bytes)));
        });
      });
    });
  });
  // Withdrawal of a published document: a registered user, like publishing.
  router.add(http::verb::delete_, "/v1/documents/{id}", [&gw](ApiRequest& req, Responder r) {
    const std::string id(req.param("id"));
    if (auto refused = refuse_publication(gw, req, id)) return r.send(std::move(*refused));
    auto rp = std::make_shared<Responder>(std::move(r));
    require_user(gw, req, {}, "withdrawing is", [&gw, rp, id](std::optional<HttpResponse> refused, const std::string&) {
      if (refused) return rp->send(std::move(*refused));
      gw.store.remove_document(id, [rp](Result<void> st) {
        if (!st) return rp->send(store_error(st.error()));
        rp->send(json_response(http::status::ok, {{"deleted", true}}));
      });
    });
  });
}

// --- across the network -----------------------------------------------------

void add_network_routes(Router& router, Gateway& gw, std::shared_ptr<EmergencyWindows> windows) {
  auto refused = std::make_shared<RefusedDocuments>();
  router.add(http::verb::get, "/v1/patients/{patient}/documents", [&gw, windows](ApiRequest& req, Responder r) {
    const std::string patient(req.param("patient"));
    if (!policy::is_patient_id(patient)) {
      return r.send(bad_request("invalid_patient", "patient ids are [A-Za-z0-9-]{1,64}"));
    }
    req.function = network_function(req);
    auto plain = std::make_shared<Responder>(std::move(r));
    resolve_actor(gw, *windows, req, plain, patient, [&gw, patient](Actor a) {
      const auto rp = a.rp;
      a.audit->event = "document_list";
      const auto cfg = gw.config();
      struct Gather {
        std::mutex mu;
        json documents = json::array();
        json facilities = json::array();
        std::size_t pending = 0;
        std::shared_ptr<Responder> rp;
        std::shared_ptr<AuditRecord> audit;
        bool emergency = false;
        ~Gather() {
          for (const auto& d : documents) {
            audit->document_ids.push_back(d.value("facility", "") + "/" + d.value("id", ""));
          }
          rp->send(json_response(http::status::ok,
                                 {{"documents", documents}, {"facilities", facilities}, {"emergency", emergency}}));
        }
      };
      auto g = std::make_shared<Gather>();
      g->rp = rp;
      g->audit = a.audit;
      g->emergency = a.purpose == policy::Purpose::emergency;
      if (gw.peers == nullptr || cfg->peers.empty()) return;  // ~Gather answers with nothing
      for (const auto& peer : cfg->peers) {
        transport::OutboundRequest out;
        out.method = "GET";
        out.target = "/peer/v1/patients/" + patient + "/documents";
        out.headers = peer_headers(*cfg, a);
        gw.peers->async_request(
            transport::PeerAddress{peer.facility, peer.host, peer.port}, std::move(out),
            [g, facility = peer.facility, name = peer.name](Result<transport::PeerResponse> res) {
              std::lock_guard lk(g->mu);
              json f = {{"facility", facility}, {"name", name}};
              if (!res) {
                f["status"] = res.error().code == "timeout" ? "timeout" : "unavailable";
                f["error"] = {{"code", res.error().code}, {"message", res.error().message}};
              } else {
                PeerList l = read_peer_list(*res);
                f["status"] = l.status;
                if (l.status != "answered") {
                  f["error"] = std::move(l.error);
                } else {
                  f["count"] = l.documents.size();
                  if (l.emergency) f["emergency"] = true;
                  for (auto& d : l.documents) {
                    d["facility"] = facility;
                    g->documents.push_back(std::move(d));
                  }
                }
              }
              g->facilities.push_back(std::move(f));
            });
      }
    });
  });

  router.add(http::verb::get, "/v1/facilities/{code}/documents/{id}", [&gw, windows, refused](ApiRequest& req, Responder r) {
    const std::string code(req.param("code"));
    const std::string id(req.param("id"));
    if (!transport::is_facility_code(code)) {
      return r.send(bad_request("invalid_facility", "facility codes are 10 digits"));
    }
    if (!policy::is_document_id(id)) {
      return r.send(bad_request("invalid_document", "document ids are [A-Za-z0-9._-]{1,64}"));
    }
    const auto cfg = gw.config();
    const auto peer_it = std::find_if(cfg->peers.begin(), cfg->peers.end(),
                                      [&](const Config::Peer& p) { return p.facility == code; });
    if (peer_it == cfg->peers.end() || gw.peers == nullptr) {
      return r.send(error_response(http::status::not_found, "unknown_facility",
                                   "this facility is not in the gateway's directory"));
    }
    // The break-glass window is per user and patient: an emergency fetch
    // names the patient whose list it came from.
    const std::string patient_hint(req.msg[kPatientHeader]);
    if (req.msg[kPurposeHeader] == "emergency" && !policy::is_patient_id(patient_hint)) {
      return r.send(bad_request("invalid_patient", "an emergency fetch names its patient in X-HIE-Patient"));
    }
    req.function = network_function(req);
    const bool raw = wants_raw(req.msg[http::field::accept]);
    auto plain = std::make_shared<Responder>(std::move(r));
    resolve_actor(gw, *windows, req, plain, patient_hint,
                  [&gw, code, id, peer = *peer_it, refused, raw, keep = req.keep, named = patient_hint](Actor a) {
      const auto rp = a.rp;
      a.audit->event = "document_read";
      a.audit->peer_facility = code;
      a.audit->document_ids = {code + "/" + id};
      const ConfigPtr snapshot = gw.config();
      const auto now = gw.clock().time_since_epoch().count();
      const bool keep_copy = snapshot->store.cache_max_bytes > 0;
      auto ask_peer = [&gw, rp, code, id, peer, a, snapshot, refused, raw, keep_copy, keep, named]() {
        transport::OutboundRequest out;
        out.method = "GET";
        out.target = "/peer/v1/documents/" + id;
        out.headers = peer_headers(*snapshot, a, named);
        out.headers.emplace_back("Accept", std::string(kRawContentType));
        // A large document asked for raw is passed on as it arrives, a
        // window in memory, and not kept (one larger than a cached copy may
        // be, or any above a window when no copies are kept).
        if (raw) out.stream_above = keep_copy ? snapshot->store.cache_max_document_bytes : kStreamWindow;
        gw.peers->async_request(
            transport::PeerAddress{peer.facility, peer.host, peer.port}, std::move(out),
            [&gw, rp, code, id, refused, raw, keep_copy, keep, audit = a.audit, named](
                Result<transport::PeerResponse> res) {
              if (!res && res.error().code == "overloaded") {
                return rp->send(memory_full_response());
              }
              if (!res) {
                return rp->send(error_response(http::status::gateway_timeout,
                                               res.error().code == "timeout" ? "peer_timeout" : "peer_unavailable",
                                               "facility " + code + " did not answer: " + res.error().message));
              }
              if (res->status != 200) {
                // A refusal also bars any cached copy: consent may have been withdrawn.
                if (!peer_busy(*res)) refused->refused(code, id);
                json e = peer_error_json(*res);
                e["facility"] = code;
                return rp->send(json_response(static_cast<http::status>(peer_refusal_status(res->status)),
                                              {{"error", e}}));
              }
              // A current peer sends the content raw (metadata in a header);
              // an older one base64 inside JSON.
              if (res->stream && !res->content_type.starts_with(kRawContentType)) {
                return rp->send(error_response(http::status::bad_gateway, "peer_error",
                                               "facility " + code + " answered a large document as JSON"));
              }
              auto got = read_peer_document(*res);
              if (!got) {
                return rp->send(error_response(http::status::bad_gateway, "peer_error", got.error().message));
              }
              auto& [meta, content] = *got;
              if (auto other = refuse_other_patient(*audit, named, meta)) return rp->send(std::move(*other));
              // What another facility sends passes the same content checks
              // as what this one publishes (利用規程 第8条5号): the EHR never
              // gets, and the cache never keeps, an executable under a label.
              const std::string type = meta.contains("content_type") && meta["content_type"].is_string()
                                           ? meta["content_type"].get<std::string>()
                                           : std::string();
              if (!res->stream) {
                if (const auto d = policy::check_content(type, content); !d.allowed) {
                  gw.log.log(Level::warning, events::kPeerContentRefused,
                             "a document from facility " + code + " failed the content checks: " + d.code,
                             {{"FACILITY", code}, {"CODE", d.code}});
                  return rp->send(refusal(d, http::status::bad_gateway));
                }
              }
              refused->allowed(code, id);
              keep->add(std::move(res->keep));
              if (res->stream) {
                meta["facility"] = code;
                meta["cached"] = false;
                return rp->send(raw_document_response(meta, {}), head_checked(std::move(res->stream), type));
              }
              // The answer's base64 beside the bytes.
              if (!raw && !hold_memory(gw, *keep, answer_bytes(content.size(), false) - content.size())) {
                return rp->send(memory_full_response());
              }
              auto data = std::make_shared<std::string>(std::move(content));
              json answer = meta;
              answer["facility"] = code;
              answer["cached"] = false;
              if (!keep_copy) return rp->send(document_response(raw, std::move(answer), std::move(*data)));
              // The copy is stored (not durably: it is only a cache) before
              // the answer, so that the next fetch finds it; a failed write
              // costs only the copy.
              meta["decided_at"] = gw.clock().time_since_epoch().count();
              auto pos = std::make_shared<std::size_t>(0);
              gw.store.cache_put(
                  CachedDocument{code, id, meta.dump(), 0, 0},
                  [data, pos](std::span<std::uint8_t> o) -> Result<std::size_t> {
                    const std::size_t n = std::min(o.size(), data->size() - *pos);
                    std::copy_n(data->data() + *pos, n, o.data());
                    *pos += n;
                    return n;
                  },
                  gw.clock().time_since_epoch().count(),
                  [rp, data, raw, answer = std::move(answer)](Result<void>) mutable {
                    rp->send(document_response(raw, std::move(answer), std::move(*data)));
                  });
            });
      };
      // A cached copy is served only after the disclosing side decides
      // again (a small request without the content): consent may have been
      // withdrawn meanwhile. If that side cannot be reached, the copy is
      // served only while its last decision is younger than
      // store.consent_evidence_max_age.
      auto serve_cached = [&gw, rp, code, id, now, ask_peer, raw, keep, audit = a.audit, named](
                              json meta, bool verified, std::uint64_t size) {
        if (auto other = refuse_other_patient(*audit, named, meta)) return rp->send(std::move(*other));
        if (!hold_memory(gw, *keep, answer_bytes(size, raw))) return rp->send(memory_full_response());
        auto buf = std::make_shared<std::string>();
        gw.store.cache_read(
            code, id, now,
            [buf](crypto::ByteView chunk) -> Status {
              buf->append(reinterpret_cast<const char*>(chunk.data()), chunk.size());
              return {};
            },
            [rp, buf, meta, code, ask_peer, verified, raw](Result<void> st) mutable {
              if (!st) return ask_peer();
              meta.erase("decided_at");
              meta["facility"] = code;
              meta["cached"] = true;
              meta["decision_verified"] = verified;
              rp->send(document_response(raw, std::move(meta), std::move(*buf)));
            });
      };
      if (!keep_copy) return ask_peer();
      gw.store.cache_get(code, id, now, [&gw, rp, code, id, ask_peer, serve_cached, snapshot, now, refused, peer,
                                         a, named](Result<CachedDocument> c) {
        if (!c || refused->is_refused(code, id)) return ask_peer();
        json meta = json::parse(c->metadata_json, nullptr, false);
        if (meta.is_discarded()) return ask_peer();
        const std::int64_t decided = meta.value("decided_at", std::int64_t{0});
        const auto max_age =
            std::chrono::duration_cast<std::chrono::seconds>(snapshot->store.consent_evidence_max_age).count();
        transport::OutboundRequest out;
        out.method = "GET";
        out.target = "/peer/v1/documents/" + id + "?decision_only=1";
        out.headers = peer_headers(*snapshot, a, named);
        gw.peers->async_request(
            transport::PeerAddress{peer.facility, peer.host, peer.port}, std::move(out),
            [rp, code, id, meta, decided, max_age, now, refused, serve_cached,
             size = c->content_size](Result<transport::PeerResponse> res) {
              if (!res || peer_busy(*res)) {
                if (now - decided < max_age) return serve_cached(meta, false, size);
                const std::string why = res ? "busy (HTTP " + std::to_string(res->status) + ")" : res.error().message;
                return rp->send(error_response(http::status::gateway_timeout, "consent_unverified",
                                               "facility " + code + " could not confirm its decision: " + why));
              }
              if (res->status != 200) {
                refused->refused(code, id);
                json e = peer_error_json(*res);
                e["facility"] = code;
                return rp->send(json_response(static_cast<http::status>(peer_refusal_status(res->status)),
                                              {{"error", e}}));
              }
              serve_cached(meta, true, size);
            });
      });
    });
  });

  // The review of break-glass accesses (利用規程 第11条) names patients: for
  // administrators, and itself audited.
  Handler review = [&gw, windows](ApiRequest& req, Responder r) {
    auto rp = std::make_shared<Responder>(std::move(r));
    require_admin(gw, req, "the review of emergency accesses is",
                  [rp, windows](std::optional<HttpResponse> not_admin, const std::string&) {
                    if (not_admin) return rp->send(std::move(*not_admin));
                    json items = json::array();
                    for (const auto& e : windows->history()) {
                      items.push_back({{"user", e.user}, {"patient", e.patient}, {"reason", e.reason},
                                       {"opened_at", policy::format_rfc3339(e.opened_at)},
                                       {"expires_at", policy::format_rfc3339(e.expires_at)}});
                    }
                    rp->send(json_response(http::status::ok, {{"emergency_accesses", items}}));
                  });
  };
  router.add(http::verb::get, "/v1/emergency-accesses",
             audited_route(gw, "emergency_access_list", AuditAction::read, std::move(review)));
}

}  // namespace

Status add_clinical_routes(Router& router, Gateway& gw) {
  auto windows = std::make_shared<EmergencyWindows>();
  if (auto st = windows->load(gw.store); !st) return st;
  // User and consent administration: every change, and every read of a
  // patient's consent, is audited (allowed or refused) before the answer.
  Router admin;
  add_user_routes(admin, gw);
  add_consent_routes(admin, gw);
  router.add_all(admin, [&gw](const Router::Route& r) -> Handler {
    const bool get = r.method == http::verb::get;
    if (r.pattern == "/v1/users/{id}") {
      if (get) return r.handler;
      return audited_route(gw, r.method == http::verb::put ? "user_update" : "user_delete",
                           r.method == http::verb::put ? AuditAction::update : AuditAction::del, r.handler,
                           [](const ApiRequest& req, AuditRecord& rec) {
                             rec.document_ids.clear();
                             rec.detail = "target_user=" + std::string(req.param("id"));
                           });
    }
    if (r.pattern == "/v1/users") return audited_route(gw, "user_list", AuditAction::read, r.handler);
    if (r.pattern == "/v1/consents") return audited_route(gw, "consent_list", AuditAction::read, r.handler);
    const std::string event = get ? "consent_read" : r.method == http::verb::put ? "consent_register" : "consent_withdraw";
    return audited_route(gw, event, get ? AuditAction::read : AuditAction::update, r.handler);
  });
  // Publication and withdrawal of this facility's documents are audited
  // (the patient from the body; reads audit themselves, see above).
  Router own;
  add_document_routes(own, gw, windows);
  router.add_all(own, [&gw](const Router::Route& r) -> Handler {
    if (r.method == http::verb::put) {
      // A raw upload names its patient in X-HIE-Document.
      return audited_route(gw, "document_publish", AuditAction::create, r.handler,
                           [](const ApiRequest& req, AuditRecord& rec) {
                             if (!req.body) return;
                             const auto meta = read_document_header(req.msg[kDocumentHeader]);
                             if (meta && meta->contains("patient") && (*meta)["patient"].is_string()) {
                               rec.patient = (*meta)["patient"];
                             }
                           });
    }
    if (r.method == http::verb::delete_) return audited_route(gw, "document_withdraw", AuditAction::del, r.handler);
    return r.handler;
  });
  add_network_routes(router, gw, windows);
  add_audit_routes(router, gw);
  Router cache;
  add_cache_routes(cache, gw);
  router.add_all(cache, [&gw](const Router::Route& r) -> Handler {
    return audited_route(gw, "cache_purge", AuditAction::del, r.handler, [](const ApiRequest& req, AuditRecord& rec) {
      const auto body = json::parse(req.msg.body(), nullptr, false);
      const bool expired = body.is_object() && body.contains("expired_only") && body["expired_only"].is_boolean() &&
                           body["expired_only"].get<bool>();
      rec.detail = expired ? "local purge: expired entries" : "local purge: every entry";
    });
  });
  return {};
}

}  // namespace hiegate::daemon
