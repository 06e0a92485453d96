#include "hiegate/daemon/directive_api.hpp"

#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <utility>

#include "hiegate/daemon/mode_api.hpp"
#include "hiegate/policy/directive_json.hpp"

namespace hiegate::daemon {
namespace {

using nlohmann::json;
using policy::Outcome;
using policy::RejectReason;

std::string_view decision_name(Outcome d) {
  switch (d) {
    case Outcome::accept: return "accept";
    case Outcome::noop: return "noop";
    case Outcome::reject: return "reject";
  }
  return "reject";
}

bool conflicts_with_state(RejectReason r) {
  return r == RejectReason::rollback || r == RejectReason::equivocation ||
         r == RejectReason::version_gap || r == RejectReason::keyset_version;
}

json state_json(const DirectiveService& service, std::string_view facility, policy::Time now) {
  const auto snap = service.snapshot();
  const auto& st = snap->state;
  json j = {{"facility", facility},
            {"keyset_version", st.keyset_version()},
            {"orders_sequence", nullptr},
            {"heartbeat_sequence", nullptr},
            {"mode", std::string(service.mode(facility, now).summary())},
            {"failsafe", snap->failsafe}};
  if (st.orders) j["orders_sequence"] = st.orders->value.sequence;
  if (st.heartbeat) j["heartbeat_sequence"] = st.heartbeat->value.sequence;
  return j;
}

}  // namespace

AuditRecord directive_audit_record(std::string_view source, std::size_t index,
                                   const Result<policy::Verdict>& verdict) {
  AuditRecord rec;
  rec.event = "directive";
  rec.action = AuditAction::update;
  rec.detail = std::string(source) + "#" + std::to_string(index);
  if (!verdict) {
    rec.outcome = AuditOutcome::serious_failure;
    rec.reason_code = verdict.error().code;
    rec.detail += " " + verdict.error().message;
    return rec;
  }
  const policy::Verdict& v = *verdict;
  if (v.kind) rec.detail += " " + std::string(policy::name(*v.kind));
  if (v.sequence != 0) rec.detail += " sequence " + std::to_string(v.sequence);
  if (!v.detail.empty()) rec.detail += ": " + v.detail;
  if (!v.rejected()) {
    rec.reason_code = std::string(decision_name(v.decision));
    return rec;
  }
  rec.reason_code = std::string(policy::code(v.reason));
  rec.outcome = v.reason == RejectReason::equivocation ? AuditOutcome::serious_failure
                                                       : AuditOutcome::minor_failure;
  return rec;
}

DeliveryAnswer deliver_directives(DirectiveService& service, std::string_view facility,
                                  std::string_view body, policy::Time now,
                                  std::string_view source, const DirectiveAuditHook& audit) {
  auto envelopes = policy::split_delivery(body);
  if (!envelopes) {
    if (audit) {  // every rejection is audited, this one too
      policy::Verdict v;
      v.reason = RejectReason::malformed;
      v.detail = envelopes.error().message;
      audit(source, 0, v);
    }
    json j = state_json(service, facility, now);
    j["results"] = json::array();
    j["error"] = {{"code", "malformed"}, {"message", envelopes.error().message}};
    return {400, json_text(j)};
  }
  json results = json::array();
  std::optional<std::pair<unsigned, json>> failure;  // the first one decides the status
  for (std::size_t i = 0; i < envelopes->size(); ++i) {
    auto verdict = service.deliver((*envelopes)[i], now);
    if (audit) audit(source, i, verdict);
    if (!verdict) {
      results.push_back({{"decision", "error"}, {"reason", verdict.error().code}});
      if (!failure)
        failure.emplace(503u, json{{"code", verdict.error().code}, {"message", verdict.error().message}});
      break;
    }
    json r = {{"decision", std::string(decision_name(verdict->decision))}};
    if (verdict->kind) {
      r["kind"] = std::string(policy::name(*verdict->kind));
      if (verdict->sequence != 0) r["sequence"] = verdict->sequence;
    }
    if (verdict->rejected()) {
      const std::string code(policy::code(verdict->reason));
      r["reason"] = code;
      r["detail"] = verdict->detail;
      if (!failure)
        failure.emplace(conflicts_with_state(verdict->reason) ? 409u : 422u,
                        json{{"code", code}, {"message", verdict->detail}});
    }
    results.push_back(std::move(r));
  }
  json j = state_json(service, facility, now);
  j["results"] = std::move(results);
  if (!failure) return {200, json_text(j)};
  j["error"] = std::move(failure->second);
  return {failure->first, json_text(j)};
}

DirectiveAuditHook recording(DirectiveAuditHook notify, AuditAppend append) {
  return [notify = std::move(notify), append = std::move(append)](std::string_view source, std::size_t index,
                                                                  const Result<policy::Verdict>& v) {
    if (append) append(directive_audit_record(source, index, v), [](Status) {});
    if (notify) notify(source, index, v);
  };
}

void deliver_recorded(DirectiveService& service, std::string_view facility, std::string_view body,
                      policy::Time now, std::string_view source, const DirectiveAuditHook& notify,
                      const AuditAppend& append, std::function<void(DeliveryAnswer)> done) {
  // The delivery itself counts as one pending part, settled once it is over,
  // so that records made durable meanwhile cannot answer too early.
  struct Join {
    std::mutex mu;
    int pending = 1;
    bool written = true;
    DeliveryAnswer answer;
    std::function<void(DeliveryAnswer)> done;
    void settle(bool ok) {
      std::function<void(DeliveryAnswer)> f;
      {
        std::lock_guard lk(mu);
        written = written && ok;
        if (--pending != 0) return;
        f = std::move(done);
      }
      if (!written) {
        json j = json::parse(answer.body, nullptr, false);
        if (!j.is_object()) j = json::object();
        j["error"] = {{"code", "audit_unavailable"},
                      {"message", "applied, but the audit trail cannot be written; deliver again"}};
        answer = {503, json_text(j)};
      }
      f(std::move(answer));
    }
  };
  auto join = std::make_shared<Join>();
  join->done = std::move(done);
  const DirectiveAuditHook hook = [&](std::string_view src, std::size_t index, const Result<policy::Verdict>& v) {
    if (append) {
      {
        std::lock_guard lk(join->mu);
        ++join->pending;
      }
      append(directive_audit_record(src, index, v), [join](Status st) { join->settle(static_cast<bool>(st)); });
    }
    if (notify) notify(src, index, v);
  };
  DeliveryAnswer a = deliver_directives(service, facility, body, now, source, hook);
  {
    std::lock_guard lk(join->mu);
    join->answer = std::move(a);
  }
  join->settle(true);
}

transport::PeerRoute directives_peer_route(DirectiveService& service, std::string facility,
                                           std::function<policy::Time()> clock,
                                           DirectiveAuditHook notify, AuditAppend append) {
  transport::PeerRoute route;
  route.method = "PUT";
  route.path = "/peer/v1/directives";
  route.allowed = transport::Caller::secretariat;
  route.async_handler = [&service, facility = std::move(facility), clock = std::move(clock),
                         notify = std::move(notify),
                         append = std::move(append)](const transport::PeerRequest& req, transport::PeerReply reply) {
    deliver_recorded(service, facility, req.body, clock(), "peer " + req.peer.uri(), notify, append,
                     [reply = std::move(reply)](DeliveryAnswer a) {
                       reply(transport::PeerResponse::json(a.status, a.body));
                     });
  };
  return route;
}

Handler directives_show_handler(const DirectiveService& service, std::string facility,
                                std::function<policy::Time()> clock) {
  return [&service, facility = std::move(facility), clock = std::move(clock)](ApiRequest&, Responder res) {
    const auto now = clock();
    const auto snap = service.snapshot();
    const auto& st = snap->state;
    json j = state_json(service, facility, now);
    j["network"] = st.current_keyset().network;
    j["mode"] = mode_json(service.mode(facility, now));
    if (snap->failsafe) j["failsafe_reason"] = snap->failsafe_reason;
    j["keyset"] = policy::keyset_json(st.current_keyset());
    j["orders"] = nullptr;
    if (st.orders) {
      json o = policy::orders_json(st.orders->value);
      auto& list = o["orders"];
      for (std::size_t i = 0; i < st.orders->value.orders.size(); ++i) {
        const auto& order = st.orders->value.orders[i];
        list[i]["in_force"] = order.addresses(facility) && order.active_at(now);
      }
      j["orders"] = std::move(o);
    }
    j["heartbeat"] = nullptr;
    if (st.heartbeat) {
      j["heartbeat"] = policy::heartbeat_json(st.heartbeat->value);
      j["heartbeat"]["expired"] = now >= st.heartbeat->value.expires_at;
    }
    res.send(json_response(http::status::ok, j));
  };
}

transport::PeerRoute directives_status_route(const DirectiveService& service, std::string facility,
                                            std::function<policy::Time()> clock) {
  transport::PeerRoute route;
  route.method = "GET";
  route.path = "/peer/v1/directives";
  route.allowed = transport::Caller::secretariat;
  route.handler = [&service, facility = std::move(facility), clock = std::move(clock)](const transport::PeerRequest&) {
    return transport::PeerResponse::json(200, json_text(state_json(service, facility, clock())));
  };
  return route;
}

Handler directives_local_handler(DirectiveService& service, std::string facility,
                                 std::function<policy::Time()> clock, DirectiveAuditHook notify,
                                 AuditAppend append) {
  return [&service, facility = std::move(facility), clock = std::move(clock), notify = std::move(notify),
          append = std::move(append)](ApiRequest& req, Responder res) {
    auto rp = std::make_shared<Responder>(std::move(res));
    deliver_recorded(service, facility, req.msg.body(), clock(), "local " + req.token_name, notify, append,
                     [rp](DeliveryAnswer a) {
                       rp->send(text_response(static_cast<http::status>(a.status), a.body + "\n",
                                              "application/json; charset=utf-8"));
                     });
  };
}

}  // namespace hiegate::daemon
