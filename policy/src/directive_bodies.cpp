#include "hiegate/policy/directive_bodies.hpp"

#include <algorithm>
#include <set>

#include "hiegate/policy/strict_json.hpp"
#include "json_fields.hpp"

namespace hiegate::policy {

using detail::FieldReader;
using detail::json;
using detail::Problems;

std::string_view payload_type(DocumentKind k) noexcept {
  switch (k) {
    case DocumentKind::keyset:
      return "application/vnd.hiegate.keyset+json";
    case DocumentKind::orders:
      return "application/vnd.hiegate.orders+json";
    case DocumentKind::heartbeat:
      return "application/vnd.hiegate.heartbeat+json";
  }
  return {};
}

std::optional<DocumentKind> kind_of_payload_type(std::string_view t) noexcept {
  for (DocumentKind k : {DocumentKind::keyset, DocumentKind::orders, DocumentKind::heartbeat}) {
    if (payload_type(k) == t) return k;
  }
  return std::nullopt;
}

std::string_view name(DocumentKind k) noexcept {
  switch (k) {
    case DocumentKind::keyset:
      return "keyset";
    case DocumentKind::orders:
      return "orders";
    case DocumentKind::heartbeat:
      return "heartbeat";
  }
  return "unknown";
}

std::string_view name(KeyRole r) noexcept {
  switch (r) {
    case KeyRole::root:
      return "root";
    case KeyRole::orders:
      return "orders";
    case KeyRole::heartbeat:
      return "heartbeat";
  }
  return "unknown";
}

KeyRole signing_role(DocumentKind k) noexcept {
  switch (k) {
    case DocumentKind::keyset:
      return KeyRole::root;
    case DocumentKind::orders:
      return KeyRole::orders;
    case DocumentKind::heartbeat:
      return KeyRole::heartbeat;
  }
  return KeyRole::root;
}

const RoleKeys& Keyset::role(KeyRole r) const noexcept {
  switch (r) {
    case KeyRole::root:
      return root;
    case KeyRole::orders:
      return orders;
    case KeyRole::heartbeat:
      return heartbeat;
  }
  return root;
}

std::string_view name(Action a) noexcept {
  switch (a) {
    case Action::stop:
      return "stop";
    case Action::restrict:
      return "restrict";
    case Action::disaster:
      return "disaster";
    case Action::suspend_user:
      return "suspend_user";
    case Action::suspend_facility:
      return "suspend_facility";
    case Action::purge_cache:
      return "purge_cache";
  }
  return "unknown";
}

std::string_view name(OrderReason r) noexcept {
  switch (r) {
    case OrderReason::failure:
      return "failure";
    case OrderReason::maintenance:
      return "maintenance";
    case OrderReason::equipment:
      return "equipment";
    case OrderReason::data_recovery:
      return "data_recovery";
    case OrderReason::management:
      return "management";
    case OrderReason::disaster:
      return "disaster";
    case OrderReason::violation:
      return "violation";
  }
  return "unknown";
}

bool is_facility_code(std::string_view s) noexcept {
  return s.size() == 10 &&
         std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool Order::addresses(std::string_view facility_code) const noexcept {
  return audience_all ||
         std::find(audience.begin(), audience.end(), facility_code) != audience.end();
}

bool Order::active_at(Time t) const noexcept {
  return (!not_before || *not_before <= t) && (!not_after || t < *not_after);
}

namespace {

template <class E, std::size_t N>
std::optional<E> enum_from(std::string_view s, const E (&all)[N]) {
  for (E e : all) {
    if (name(e) == s) return e;
  }
  return std::nullopt;
}

constexpr Action kActions[] = {Action::stop,         Action::restrict,         Action::disaster,
                               Action::suspend_user, Action::suspend_facility, Action::purge_cache};
constexpr OrderReason kReasons[] = {OrderReason::failure,    OrderReason::maintenance,
                                    OrderReason::equipment,  OrderReason::data_recovery,
                                    OrderReason::management, OrderReason::disaster,
                                    OrderReason::violation};

bool is_order_id(std::string_view s) {
  return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

// <facility>/<local user id>: printable ASCII without spaces or '/', 1-128 bytes.
bool is_user(std::string_view s) {
  const auto slash = s.find('/');
  if (slash == std::string_view::npos || !is_facility_code(s.substr(0, slash))) return false;
  const std::string_view local = s.substr(slash + 1);
  return !local.empty() && local.size() <= 128 &&
         std::all_of(local.begin(), local.end(),
                     [](char c) { return c > ' ' && c < 0x7f && c != '/'; });
}

// Code points in valid UTF-8 (the strict reader already checked validity).
std::size_t code_points(std::string_view s) {
  return static_cast<std::size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

// Strict JSON, a `type` equal to `expected`; returns the object.
Result<json> open_body(std::string_view body, std::string_view expected) {
  auto doc = parse_strict_json(body);
  if (!doc) return make_error("malformed", "body: " + doc.error().message);
  if (!doc->is_object()) return make_error("invalid", "body is not a JSON object");
  const auto type = doc->find("type");
  if (type == doc->end() || !type->is_string())
    return make_error("invalid", "type is missing or not a string");
  if (type->get_ref<const std::string&>() != expected) {
    return make_error("type_mismatch", "body type \"" + type->get<std::string>() + "\" under a " +
                                           std::string(expected) + " payloadType");
  }
  return doc;
}

RoleKeys read_role(FieldReader& roles, std::string_view role_name, Problems& problems) {
  RoleKeys out;
  const json* v = roles.get(role_name);
  if (v == nullptr) return out;
  FieldReader role(*v, roles.path(role_name), {"keys", "threshold"}, problems);
  if (const json* keys = role.get("keys")) {
    if (!keys->is_array() || keys->empty()) role.fail("keys", "is not a non-empty array");
    std::set<crypto::Ed25519PublicKey> seen;
    for (const json& k : keys->is_array() ? *keys : json::array()) {
      const auto bytes =
          k.is_string() ? crypto::from_base64(k.get_ref<const std::string&>()) : std::nullopt;
      if (!bytes || !crypto::ed25519_is_valid_public_key(*bytes)) {
        role.fail("keys", "holds a value that is not a valid base64 Ed25519 public key");
        continue;
      }
      crypto::Ed25519PublicKey key{};
      std::copy(bytes->begin(), bytes->end(), key.begin());
      if (!seen.insert(key).second) role.fail("keys", "lists a key twice");
      out.keys.push_back(key);
    }
  }
  if (const json* t = role.get("threshold")) {
    const auto n = detail::integer_in(*t, 1, std::max<std::size_t>(out.keys.size(), 1));
    if (!n) role.fail("threshold", "is not an integer in [1, number of keys]");
    out.threshold = static_cast<std::uint32_t>(n.value_or(0));
  }
  return out;
}

Order read_order(const json& v, std::string path, Problems& problems) {
  FieldReader r(v, std::move(path),
                {"id", "action", "audience", "reason", "not_before", "not_after", "message",
                 "allow", "user", "facility", "purge_before"},
                problems);
  Order o;
  o.id = r.string("id");
  if (r.get("id", false) != nullptr && !is_order_id(o.id))
    r.fail("id", "is not [A-Za-z0-9._-]{1,64}");
  const std::string action = r.string("action");
  const auto a = enum_from(action, kActions);
  if (!a && r.get("action", false) != nullptr) r.fail("action", "is not a known action");
  o.action = a.value_or(Action::stop);
  if (const json* aud = r.get("audience")) {
    if (aud->is_string() && aud->get_ref<const std::string&>() == "*") {
      o.audience_all = true;
    } else if (aud->is_array() && !aud->empty()) {
      for (const json& f : *aud) {
        if (!f.is_string() || !is_facility_code(f.get_ref<const std::string&>())) {
          r.fail("audience", "holds a value that is not a facility code");
        } else {
          o.audience.push_back(f.get<std::string>());
        }
      }
    } else {
      r.fail("audience", "is neither \"*\" nor a non-empty list of facility codes");
    }
  }
  const auto reason = enum_from(r.string("reason"), kReasons);
  if (!reason && r.get("reason", false) != nullptr) r.fail("reason", "is not a known reason");
  o.reason = reason.value_or(OrderReason::failure);
  o.not_before = r.optional_time("not_before");
  o.not_after = r.optional_time("not_after");
  if (o.not_before && o.not_after && *o.not_after <= *o.not_before) {
    r.fail("not_after", "is not after not_before");
  }
  if (const json* m = r.get("message", false)) {
    FieldReader msg(*m, r.path("message"), {"ja", "en"}, problems);
    BilingualMessage bm{msg.string("ja"), msg.string("en")};
    if (code_points(bm.ja) > 500 || code_points(bm.en) > 500)
      r.fail("message", "is over 500 characters");
    o.message = std::move(bm);
  }
  // Members that belong to one action only.
  const bool has_allow = r.get("allow", false) != nullptr;
  const bool has_user = r.get("user", false) != nullptr;
  const bool has_facility = r.get("facility", false) != nullptr;
  const bool has_purge = r.get("purge_before", false) != nullptr;
  if (has_allow != (o.action == Action::restrict))
    r.fail("allow", "is required for restrict and only there");
  if (has_user != (o.action == Action::suspend_user))
    r.fail("user", "is required for suspend_user and only there");
  if (has_facility != (o.action == Action::suspend_facility)) {
    r.fail("facility", "is required for suspend_facility and only there");
  }
  if (has_purge != (o.action == Action::purge_cache)) {
    r.fail("purge_before", "is required for purge_cache and only there");
  }
  if (const json* allow = r.get("allow", false)) {
    if (!allow->is_array() || allow->empty())
      r.fail("allow", "is not a non-empty list of functions");
    for (const json& f : allow->is_array() ? *allow : json::array()) {
      const auto fn =
          f.is_string() ? parse_function(f.get_ref<const std::string&>()) : std::nullopt;
      if (!fn) {
        r.fail("allow", "holds an unknown function");
      } else {
        o.allow.insert(*fn);
      }
    }
  }
  if (has_user) {
    o.user = r.string("user");
    if (!is_user(o.user)) r.fail("user", "is not <facility code>/<user id>");
  }
  if (has_facility) {
    o.facility = r.string("facility");
    if (!is_facility_code(o.facility)) r.fail("facility", "is not a facility code");
  }
  o.purge_before = r.optional_time("purge_before");
  return o;
}

Error invalid(const Problems& p) { return make_error("invalid", p.first()); }

}  // namespace

Result<Keyset> parse_keyset_body(std::string_view body) {
  auto doc = open_body(body, "keyset");
  if (!doc) return std::move(doc).error();
  Problems problems;
  FieldReader r(*doc, "", {"type", "network", "version", "issued_at", "roles"}, problems);
  Keyset ks;
  ks.network = r.string("network");
  ks.version = r.sequence("version");
  ks.issued_at = r.time("issued_at");
  if (const json* roles_json = r.get("roles")) {
    FieldReader roles(*roles_json, "roles", {"root", "orders", "heartbeat"}, problems);
    ks.root = read_role(roles, "root", problems);
    ks.orders = read_role(roles, "orders", problems);
    ks.heartbeat = read_role(roles, "heartbeat", problems);
  }
  if (problems.any()) return invalid(problems);
  return ks;
}

Result<OrderSet> parse_orders_body(std::string_view body) {
  auto doc = open_body(body, "orders");
  if (!doc) return std::move(doc).error();
  Problems problems;
  FieldReader r(*doc, "", {"type", "network", "keyset_version", "sequence", "issued_at", "orders"},
                problems);
  OrderSet set;
  set.network = r.string("network");
  set.keyset_version = r.sequence("keyset_version");
  set.sequence = r.sequence("sequence");
  set.issued_at = r.time("issued_at");
  if (const json* list = r.get("orders")) {
    if (!list->is_array()) r.fail("orders", "is not a list");
    std::set<std::string> ids;
    std::size_t i = 0;
    for (const json& item : list->is_array() ? *list : json::array()) {
      Order order = read_order(item, "orders[" + std::to_string(i++) + "]", problems);
      if (!ids.insert(order.id).second) r.fail("orders", "repeats the id \"" + order.id + "\"");
      set.orders.push_back(std::move(order));
    }
  }
  if (problems.any()) return invalid(problems);
  return set;
}

Result<Heartbeat> parse_heartbeat_body(std::string_view body, std::chrono::seconds max_validity) {
  auto doc = open_body(body, "heartbeat");
  if (!doc) return std::move(doc).error();
  Problems problems;
  FieldReader r(*doc, "",
                {"type", "network", "keyset_version", "sequence", "issued_at", "expires_at",
                 "orders_sequence", "orders_digest"},
                problems);
  Heartbeat hb;
  hb.network = r.string("network");
  hb.keyset_version = r.sequence("keyset_version");
  hb.sequence = r.sequence("sequence");
  hb.issued_at = r.time("issued_at");
  hb.expires_at = r.time("expires_at");
  hb.orders_sequence = r.sequence("orders_sequence");
  const std::string digest = r.string("orders_digest");
  const bool lower_hex = std::all_of(digest.begin(), digest.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
  });
  const auto bytes = lower_hex && digest.size() == 64 ? crypto::from_hex(digest) : std::nullopt;
  if (!bytes || bytes->size() != hb.orders_digest.size()) {
    r.fail("orders_digest", "is not 64 lower-case hex digits");
  } else {
    std::copy(bytes->begin(), bytes->end(), hb.orders_digest.begin());
  }
  if (!problems.any() &&
      (hb.expires_at <= hb.issued_at || hb.expires_at - hb.issued_at > max_validity)) {
    r.fail("expires_at", "is not after issued_at within the allowed validity");
  }
  if (problems.any()) return invalid(problems);
  return hb;
}

}  // namespace hiegate::policy
