#include "hiegate/policy/directive_json.hpp"

#include <nlohmann/json.hpp>

#include "hiegate/crypto/encoding.hpp"
#include "hiegate/policy/rfc3339.hpp"

namespace hiegate::policy {

using nlohmann::json;

namespace {

json role_json(const RoleKeys& r) {
  json keys = json::array();
  for (const auto& k : r.keys) keys.push_back(crypto::to_base64(k));
  return {{"keys", keys}, {"threshold", r.threshold}};
}

}  // namespace

json keyset_json(const Keyset& k) {
  return {{"type", "keyset"},
          {"network", k.network},
          {"version", k.version},
          {"issued_at", format_rfc3339(k.issued_at)},
          {"roles",
           {{"root", role_json(k.root)},
            {"orders", role_json(k.orders)},
            {"heartbeat", role_json(k.heartbeat)}}}};
}

json order_json(const Order& o) {
  json j = {{"id", o.id},
            {"action", std::string(name(o.action))},
            {"reason", std::string(name(o.reason))}};
  j["audience"] = o.audience_all ? json("*") : json(o.audience);
  if (o.not_before) j["not_before"] = format_rfc3339(*o.not_before);
  if (o.not_after) j["not_after"] = format_rfc3339(*o.not_after);
  if (o.message) j["message"] = {{"ja", o.message->ja}, {"en", o.message->en}};
  // Members are written whenever set, so that one given to the wrong action
  // is refused by the reader instead of silently dropped.
  if (!o.allow.empty()) {
    json allow = json::array();
    for (auto f : {Function::view, Function::emergency, Function::serve,
                   Function::publish, Function::export_, Function::print})
      if (o.allow.contains(f)) allow.push_back(std::string(name(f)));
    j["allow"] = allow;
  }
  if (!o.user.empty()) j["user"] = o.user;
  if (!o.facility.empty()) j["facility"] = o.facility;
  if (o.purge_before) j["purge_before"] = format_rfc3339(*o.purge_before);
  return j;
}

json orders_json(const OrderSet& s) {
  json list = json::array();
  for (const auto& o : s.orders) list.push_back(order_json(o));
  return {{"type", "orders"},
          {"network", s.network},
          {"keyset_version", s.keyset_version},
          {"sequence", s.sequence},
          {"issued_at", format_rfc3339(s.issued_at)},
          {"orders", list}};
}

json heartbeat_json(const Heartbeat& h) {
  return {{"type", "heartbeat"},
          {"network", h.network},
          {"keyset_version", h.keyset_version},
          {"sequence", h.sequence},
          {"issued_at", format_rfc3339(h.issued_at)},
          {"expires_at", format_rfc3339(h.expires_at)},
          {"orders_sequence", h.orders_sequence},
          {"orders_digest", crypto::to_hex(h.orders_digest)}};
}

}  // namespace hiegate::policy
