#include "hiegate/policy/dsse.hpp"

#include <nlohmann/json.hpp>

#include "hiegate/crypto/primitives.hpp"
#include "hiegate/policy/strict_json.hpp"

namespace hiegate::policy {
namespace {

using json = nlohmann::json;

Error malformed(std::string why) { return make_error("malformed", "envelope: " + std::move(why)); }

bool is_keyid(const std::string& s) {
  if (s.size() != 16) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

Result<EnvelopeSignature> decode_signature(const json& entry) {
  if (!entry.is_object()) return malformed("signature entry is not an object");
  for (const auto& [name, value] : entry.items()) {
    if (name != "keyid" && name != "sig")
      return malformed("unknown signature member \"" + name + "\"");
  }
  const auto keyid = entry.find("keyid");
  const auto sig = entry.find("sig");
  if (keyid == entry.end() || !keyid->is_string() ||
      !is_keyid(keyid->get_ref<const std::string&>())) {
    return malformed("signature keyid missing or not 16 lower-case hex digits");
  }
  if (sig == entry.end() || !sig->is_string())
    return malformed("signature sig missing or not a string");
  auto bytes = crypto::from_base64(sig->get_ref<const std::string&>());
  if (!bytes) return malformed("signature sig is not standard padded base64");
  return EnvelopeSignature{keyid->get<std::string>(), std::move(*bytes)};
}

}  // namespace

Result<Envelope> decode_envelope(std::string_view bytes, const EnvelopeLimits& limits) {
  if (bytes.size() > limits.max_bytes) {
    return malformed("over " + std::to_string(limits.max_bytes) + " bytes");
  }
  auto parsed = parse_strict_json(bytes);
  if (!parsed) return malformed(parsed.error().message);
  const json& doc = *parsed;
  if (!doc.is_object()) return malformed("not a JSON object");
  for (const auto& [name, value] : doc.items()) {
    if (name != "payloadType" && name != "payload" && name != "signatures") {
      return malformed("unknown member \"" + name + "\"");
    }
  }
  const auto type = doc.find("payloadType");
  const auto payload = doc.find("payload");
  const auto sigs = doc.find("signatures");
  if (type == doc.end() || !type->is_string())
    return malformed("payloadType missing or not a string");
  if (payload == doc.end() || !payload->is_string())
    return malformed("payload missing or not a string");
  if (sigs == doc.end() || !sigs->is_array())
    return malformed("signatures missing or not an array");
  if (sigs->size() > limits.max_signatures) {
    return malformed("more than " + std::to_string(limits.max_signatures) + " signatures");
  }
  auto body = crypto::from_base64(payload->get_ref<const std::string&>());
  if (!body) return malformed("payload is not standard padded base64");

  Envelope env;
  env.payload_type = type->get<std::string>();
  env.payload.assign(body->begin(), body->end());
  env.signatures.reserve(sigs->size());
  for (const json& entry : *sigs) {
    auto sig = decode_signature(entry);
    if (!sig) return std::move(sig).error();
    env.signatures.push_back(std::move(*sig));
  }
  return env;
}

Result<std::vector<std::string>> split_delivery(std::string_view body, std::size_t max_envelopes) {
  auto parsed = parse_strict_json(body);
  if (!parsed) return make_error("malformed", "delivery: " + parsed.error().message);
  if (parsed->is_object()) return std::vector<std::string>{std::string(body)};
  if (!parsed->is_array() || parsed->empty() || parsed->size() > max_envelopes) {
    return make_error("malformed", "delivery is neither an envelope nor a list of 1 to " +
                                       std::to_string(max_envelopes) + " envelopes");
  }
  std::vector<std::string> out;
  for (const json& item : *parsed) {
    if (!item.is_object()) return make_error("malformed", "delivery list holds a non-object");
    out.push_back(item.dump(-1, ' ', false, json::error_handler_t::replace));
  }
  return out;
}

std::string encode_envelope(const Envelope& envelope) {
  json sigs = json::array();
  for (const EnvelopeSignature& s : envelope.signatures) {
    sigs.push_back({{"keyid", s.keyid}, {"sig", crypto::to_base64(s.sig)}});
  }
  // Member order as in the spec; nlohmann's object is sorted, so build by hand.
  // Never throws: invalid UTF-8 in a caller's payload type is replaced.
  constexpr auto replace = json::error_handler_t::replace;
  return "{\"payloadType\":" + json(envelope.payload_type).dump(-1, ' ', false, replace) +
         ",\"payload\":" + json(crypto::to_base64(crypto::as_bytes(envelope.payload))).dump() +
         ",\"signatures\":" + sigs.dump() + "}";
}

std::string pae(std::string_view payload_type, std::string_view body) {
  std::string out = "DSSEv1 ";
  out += std::to_string(payload_type.size());
  out += ' ';
  out += payload_type;
  out += ' ';
  out += std::to_string(body.size());
  out += ' ';
  out += body;
  return out;
}

std::string keyid_of(crypto::ByteView public_key) {
  const crypto::Sha256 digest = crypto::sha256(public_key);
  return crypto::to_hex(crypto::ByteView(digest).first(8));
}

}  // namespace hiegate::policy
