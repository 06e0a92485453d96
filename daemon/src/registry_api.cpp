// Local API of the facility's registries and cache (利用規程 第3・7条):
// users (registered by an administrator), patients' consents (+ renewal
// worklist), and the purge of other facilities' documents cached here.
// add_clinical_routes (clinical_api.cpp) wires them, audited.
#include <algorithm>
#include <nlohmann/json.hpp>

#include "clinical_common.hpp"
#include "clinical_routes.hpp"
#include "hiegate/daemon/events.hpp"
#include "hiegate/daemon/mode_api.hpp"
#include "hiegate/daemon/store.hpp"
#include "hiegate/policy/rfc3339.hpp"

namespace hiegate::daemon {

using nlohmann::json;

namespace {

// --- users ----------------------------------------------------------------

constexpr const char* kAdminGroup = "admin";

bool active_admin(const policy::UserRecord& u) { return u.active && u.role == policy::Role::admin; }

/// Refuses a change after which no active administrator would be left
/// (`stays`: the target is still an active admin afterwards): the way to
/// register a first one is closed once the registry holds users, so the
/// last one is not removed, demoted or deactivated.
void keep_an_admin(Gateway& gw, const std::string& target, bool stays,
                   std::function<void(std::optional<HttpResponse>)> then) {
  if (stays) return then(std::nullopt);
  gw.store.list_records(RecordTable::users, kAdminGroup, [target, then = std::move(then)](
                                                             Result<std::vector<StoredRecord>> all) {
    if (!all) return then(store_error(all.error()));
    const bool another = std::any_of(all->begin(), all->end(), [&](const StoredRecord& r) {
      const auto rec = user_from_json(r.key, json::parse(r.value, nullptr, false));
      return rec && active_admin(*rec) && r.key != target;
    });
    if (another) return then(std::nullopt);
    then(error_response(http::status::conflict, "last_admin",
                        "this is the last active administrator: register another one before removing, demoting or "
                        "deactivating it"));
  });
}

/// Who may change the registered users (利用規程 第3条): the active,
/// unsuspended `admin` named in X-HIE-User. A new gateway, whose registry
/// holds no user at all (not even one that cannot be read), takes one
/// change without an admin: its first admin, active, naming itself (`PUT
/// /v1/users/ID` with role admin and `X-HIE-User: ID`). `next` is the
/// target's record after the change (none: removed). `then` runs with no
/// refusal when the change may go ahead.
void authorize_user_admin(Gateway& gw, const ApiRequest& req, const std::string& target,
                          std::optional<policy::UserRecord> next, std::function<void(std::optional<HttpResponse>)> then) {
  const std::string actor(req.msg[kUserHeader]);
  if (!policy::is_local_id(actor)) {
    return then(bad_request("invalid_user", "X-HIE-User must name the administrator making the change"));
  }
  const bool stays = next && active_admin(*next);
  find_user(gw, actor, [&gw, actor, target, stays, then = std::move(then)](Result<std::optional<policy::UserRecord>> u) {
    if (!u) return then(store_error(u.error()));
    if (u->has_value()) {
      if (auto refused = admin_refusal(gw, actor, &**u, "registering users is")) return then(std::move(refused));
      return keep_an_admin(gw, target, stays, then);
    }
    // An unknown actor: allowed only to register the first admin, itself,
    // into an empty registry. Fails closed: a registry whose rows cannot be
    // read is not empty.
    gw.store.count_records(RecordTable::users, [actor, target, stays, then](Result<std::uint64_t> n) {
      if (!n) return then(store_error(n.error()));
      if (*n == 0 && target == actor && stays) return then(std::nullopt);
      if (*n == 0) {
        return then(error_response(http::status::forbidden, "admin_required",
                                   "no administrator is registered yet: first register one, naming itself "
                                   "(PUT /v1/users/ID with role admin and X-HIE-User: ID)"));
      }
      then(error_response(http::status::forbidden, "unknown_user", "no such registered user"));
    });
  });
}

}  // namespace

void add_user_routes(Router& router, Gateway& gw) {
  router.add(http::verb::put, "/v1/users/{id}", [&gw](ApiRequest& req, Responder r) {
    const std::string id(req.param("id"));
    if (!policy::is_local_id(id)) return r.send(bad_request("invalid_user", "user ids are [A-Za-z0-9._-]{1,64}"));
    const auto body = parse_body(req);
    if (!body) return r.send(bad_request("invalid_json", "the body must be JSON"));
    auto u = user_from_json(id, *body);
    if (!u) return r.send(bad_request(u.error().code, u.error().message));
    auto rp = std::make_shared<Responder>(std::move(r));
    const json out = user_to_json(*u);
    authorize_user_admin(gw, req, id, *u, [&gw, rp, id, out](std::optional<HttpResponse> refused) {
      if (refused) return rp->send(std::move(*refused));
      // Admins are grouped (the group is stored as a keyed hash) so that the
      // first-admin check finds them without reading every user.
      const std::string group = out.value("role", "") == "admin" ? kAdminGroup : "";
      gw.store.put_record(RecordTable::users, StoredRecord{id, group, out.dump()}, [rp, out](Result<void> st) {
        if (!st) return rp->send(store_error(st.error()));
        rp->send(json_response(http::status::ok, out));
      });
    });
  });
  // The registry as a whole, for administrators: who may act, and who an
  // order of the secretariat suspends.
  router.add(http::verb::get, "/v1/users", [&gw](ApiRequest& req, Responder r) {
    auto rp = std::make_shared<Responder>(std::move(r));
    require_admin(gw, req, "listing users is", [&gw, rp](std::optional<HttpResponse> refused, std::string) {
      if (refused) return rp->send(std::move(*refused));
      gw.store.list_all_records(RecordTable::users, [&gw, rp](Result<std::vector<StoredRecord>> all) {
        if (!all) return rp->send(store_error(all.error()));
        std::vector<policy::UserRecord> users;
        for (const auto& rec : *all) {
          if (auto u = user_from_json(rec.key, json::parse(rec.value, nullptr, false))) users.push_back(std::move(*u));
        }
        std::sort(users.begin(), users.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
        const auto facility = gw.config()->network.facility;
        const auto mode = gw.mode();
        json items = json::array();
        for (const auto& u : users) {
          json j = user_to_json(u);
          j["suspended"] = mode.orders.user_suspended(facility + "/" + u.id);
          items.push_back(std::move(j));
        }
        rp->send(json_response(http::status::ok, {{"users", std::move(items)}}));
      });
    });
  });
  router.add(http::verb::get, "/v1/users/{id}", [&gw](ApiRequest& req, Responder r) {
    const std::string id(req.param("id"));
    if (!policy::is_local_id(id)) return r.send(bad_request("invalid_user", "user ids are [A-Za-z0-9._-]{1,64}"));
    auto rp = std::make_shared<Responder>(std::move(r));
    find_user(gw, id, [rp](Result<std::optional<policy::UserRecord>> u) {
      if (!u) return rp->send(store_error(u.error()));
      if (!u->has_value()) return rp->send(error_response(http::status::not_found, "unknown_user", "no such user"));
      rp->send(json_response(http::status::ok, user_to_json(**u)));
    });
  });
  router.add(http::verb::delete_, "/v1/users/{id}", [&gw](ApiRequest& req, Responder r) {
    const std::string id(req.param("id"));
    if (!policy::is_local_id(id)) return r.send(bad_request("invalid_user", "user ids are [A-Za-z0-9._-]{1,64}"));
    auto rp = std::make_shared<Responder>(std::move(r));
    authorize_user_admin(gw, req, id, std::nullopt, [&gw, rp, id](std::optional<HttpResponse> refused) {
      if (refused) return rp->send(std::move(*refused));
      gw.store.erase_record(RecordTable::users, id, [rp](Result<void> st) {
        if (!st) return rp->send(store_error(st.error()));
        rp->send(json_response(http::status::ok, {{"deleted", true}}));
      });
    });
  });
}

namespace {

// --- consents -------------------------------------------------------------

/// Runs `then` once X-HIE-User names a registered, active, unsuspended
/// user (of any role: consents are recorded by whoever took them);
/// otherwise answers the refusal itself.
void as_user(Gateway& gw, const ApiRequest& req, Responder r, std::function<void(std::shared_ptr<Responder>)> then) {
  auto rp = std::make_shared<Responder>(std::move(r));
  require_user(gw, req, {}, "", [rp, then = std::move(then)](std::optional<HttpResponse> refused, const std::string&) {
    if (refused) return rp->send(std::move(*refused));
    then(rp);
  });
}

/// Runs `then` with the patient's registered consent, or answers 400/403/404/5xx itself.
void with_consent(Gateway& gw, const ApiRequest& req, Responder r,
                  std::function<void(std::shared_ptr<Responder>, std::string, ConsentRecord)> then) {
  std::string patient(req.param("patient"));
  if (!policy::is_patient_id(patient)) {
    return r.send(bad_request("invalid_patient", "patient ids are [A-Za-z0-9-]{1,64}"));
  }
  as_user(gw, req, std::move(r), [&gw, patient, then = std::move(then)](std::shared_ptr<Responder> rp) {
    find_consent(gw, patient, [rp, patient, then](Result<std::optional<ConsentRecord>> c) {
      if (!c) return rp->send(store_error(c.error()));
      if (!c->has_value()) {
        return rp->send(error_response(http::status::not_found, "consent_missing", "no consent registered"));
      }
      then(rp, patient, std::move(**c));
    });
  });
}

}  // namespace

void add_consent_routes(Router& router, Gateway& gw) {
  router.add(http::verb::put, "/v1/consents/{patient}", [&gw](ApiRequest& req, Responder r) {
    const std::string patient(req.param("patient"));
    if (!policy::is_patient_id(patient)) {
      return r.send(bad_request("invalid_patient", "patient ids are [A-Za-z0-9-]{1,64}"));
    }
    const auto body = parse_body(req);
    // Not an object: erase() below would throw (a 500 instead of this 400).
    if (!body || !body->is_object()) return r.send(bad_request("invalid_json", "the body must be a JSON object"));
    json b = *body;
    b.erase("withdrawn_at");
    b.erase("registered_at");
    auto c = consent_from_json(b);
    if (!c) return r.send(bad_request(c.error().code, c.error().message));
    c->registered_at = policy::format_rfc3339(gw.clock());
    if (c->registered_by.empty()) c->registered_by = valid_utf8(req.msg[kUserHeader]);
    as_user(gw, req, std::move(r), [&gw, out = consent_to_json(*c), patient](std::shared_ptr<Responder> rp) {
      gw.store.put_record(RecordTable::consents, StoredRecord{patient, "consents", out.dump()},
                          [rp, out, patient](Result<void> st) mutable {
                            if (!st) return rp->send(store_error(st.error()));
                            out["patient"] = patient;
                            rp->send(json_response(http::status::ok, out));
                          });
    });
  });
  router.add(http::verb::get, "/v1/consents/{patient}", [&gw](ApiRequest& req, Responder r) {
    with_consent(gw, req, std::move(r), [&gw](std::shared_ptr<Responder> rp, std::string patient, ConsentRecord c) {
      json out = consent_to_json(c);
      out["patient"] = patient;
      const auto cfg = gw.config();
      out["expires_on"] = policy::format_rfc3339(std::chrono::sys_seconds(policy::consent_expires(
                                                     c.consent, static_cast<int>(cfg->policy.consent_validity_years))))
                              .substr(0, 10);
      const auto d = policy::decide_consent(&c.consent, cfg->network.facility, gw.clock(), sharing_rules(*cfg));
      out["valid"] = d.allowed || d.code == "consent_scope";
      rp->send(json_response(http::status::ok, out));
    });
  });
  // Withdrawal: effective at once, the record stays (with withdrawn_at) as evidence.
  router.add(http::verb::delete_, "/v1/consents/{patient}", [&gw](ApiRequest& req, Responder r) {
    // The audit record names who recorded the withdrawal.
    with_consent(gw, req, std::move(r), [&gw](std::shared_ptr<Responder> rp, std::string patient, ConsentRecord c) {
      c.consent.withdrawn_at = gw.clock();
      json out = consent_to_json(c);
      gw.store.put_record(RecordTable::consents, StoredRecord{patient, "consents", out.dump()},
                          [rp, out](Result<void> st) {
                            if (!st) return rp->send(store_error(st.error()));
                            rp->send(json_response(http::status::ok, out));
                          });
    });
  });
  // Renewal worklist: GET /v1/consents?expiring_within=60d
  router.add(http::verb::get, "/v1/consents", [&gw](ApiRequest& req, Responder r) {
    Millis within{60LL * 86'400'000};
    if (auto q = req.query_param("expiring_within")) {
      if (!parse_duration(*q, within)) {
        return r.send(bad_request("invalid_request", "expiring_within must be a duration such as 60d"));
      }
    }
    as_user(gw, req, std::move(r), [&gw, within](std::shared_ptr<Responder> rp) {
      gw.store.list_records(RecordTable::consents, "consents", [&gw, rp, within](Result<std::vector<StoredRecord>> l) {
        if (!l) return rp->send(store_error(l.error()));
        const auto cfg = gw.config();
        const auto now = gw.clock();
        const auto horizon =
            std::chrono::floor<std::chrono::days>(now + std::chrono::duration_cast<std::chrono::seconds>(within));
        json items = json::array();
        for (const auto& rec : *l) {
          auto c = consent_from_json(json::parse(rec.value, nullptr, false));
          if (!c || c->consent.withdrawn_at) continue;
          const auto expires =
              policy::consent_expires(c->consent, static_cast<int>(cfg->policy.consent_validity_years));
          if (expires <= horizon) {
            json j = consent_to_json(*c);
            j["patient"] = rec.key;
            j["expires_on"] = policy::format_rfc3339(std::chrono::sys_seconds(expires)).substr(0, 10);
            j["expired"] = expires <= std::chrono::floor<std::chrono::days>(now);
            items.push_back(std::move(j));
          }
        }
        rp->send(json_response(http::status::ok, {{"consents", items}}));
      });
    });
  });
}

// --- cache of other facilities' documents -----------------------------------

/// POST /v1/cache/purge: an administrator destroys the cached copies of
/// other facilities' documents (all, or with {"expired_only": true} those
/// past their TTL), without waiting for an order of the secretariat.
void add_cache_routes(Router& router, Gateway& gw) {
  router.add(http::verb::post, "/v1/cache/purge", [&gw](ApiRequest& req, Responder r) {
    bool expired_only = false;
    if (!req.msg.body().empty()) {
      const auto body = parse_body(req);
      if (!body || !body->is_object()) return r.send(bad_request("invalid_json", "the body must be a JSON object"));
      for (const auto& [k, v] : body->items()) {
        if (k != "expired_only" || !v.is_boolean()) {
          return r.send(bad_request("invalid_request", "the body may only hold \"expired_only\": true or false"));
        }
        expired_only = v.get<bool>();
      }
    }
    auto rp = std::make_shared<Responder>(std::move(r));
    require_admin(gw, req, "purging the cache is", [&gw, rp, expired_only](std::optional<HttpResponse> refused,
                                                                          std::string) {
      if (refused) return rp->send(std::move(*refused));
      const auto now = std::chrono::duration_cast<std::chrono::seconds>(gw.clock().time_since_epoch()).count();
      gw.store.cache_purge(now, !expired_only, [&gw, rp, expired_only](Result<std::uint64_t> n) {
        if (!n) return rp->send(store_error(n.error()));
        gw.log.log(Level::notice, events::kCachePurged,
                   "cache purged by an administrator: " + std::to_string(*n) + " cached documents destroyed",
                   {{"COUNT", std::to_string(*n)}, {"SCOPE", expired_only ? "expired" : "all"}});
        rp->send(json_response(http::status::ok, {{"purged", *n}, {"expired_only", expired_only}}));
      });
    });
  });
}

}  // namespace hiegate::daemon
