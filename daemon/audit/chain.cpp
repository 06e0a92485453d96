#include "audit/chain.hpp"

#include <sodium.h>

#include <nlohmann/json.hpp>

#include "hiegate/common/utf8.hpp"
#include "hiegate/crypto/sealed.hpp"

namespace hiegate::daemon::audit {

namespace {

Hash keyed_hash(crypto::ByteView key, std::string_view label, crypto::ByteView a = {}, crypto::ByteView b = {}) {
  crypto_generichash_state st;
  crypto_generichash_init(&st, key.data(), key.size(), 32);
  crypto_generichash_update(&st, reinterpret_cast<const unsigned char*>(label.data()), label.size());
  if (!a.empty()) crypto_generichash_update(&st, a.data(), a.size());
  if (!b.empty()) crypto_generichash_update(&st, b.data(), b.size());
  Hash out{};
  crypto_generichash_final(&st, out.data(), out.size());
  sodium_memzero(&st, sizeof st);
  return out;
}

void put_be(crypto::Bytes& out, std::uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

}  // namespace

Result<std::shared_ptr<const Keys>> Keys::derive(const crypto::KeyRing& master) {
  if (sodium_init() < 0) return make_error("crypto_unavailable", "libsodium failed to start");
  std::map<std::uint32_t, crypto::ByteView> audit_masters;
  for (auto v : master.versions()) audit_masters[v] = master.subkey(v, crypto::KeyPurpose::audit);
  auto ring = crypto::KeyRing::from_master_keys(audit_masters);
  if (!ring) return std::move(ring).error();
  std::shared_ptr<Keys> keys(new Keys(std::move(ring).value()));
  for (auto& [v, sub] : audit_masters) {
    keys->chain_[v] = keyed_hash(sub, "hiegate-audit-chain-key-v1");
    Hash seed = keyed_hash(sub, "hiegate-audit-checkpoint-signing-v1");
    auto pair = crypto::ed25519_from_seed(seed);
    sodium_memzero(seed.data(), seed.size());
    if (!pair) return std::move(pair).error();
    keys->signers_.emplace(v, std::move(pair).value());
  }
  return std::shared_ptr<const Keys>(std::move(keys));
}

crypto::Bytes Keys::id_hash(std::uint32_t v, std::string_view kind, std::string_view id) const {
  if (id.empty()) return {};
  const auto h = crypto::hash_identifier(ring_, v, kind, id);
  return {h.begin(), h.end()};
}

std::string action_code(AuditAction a) { return std::string(1, static_cast<char>(a)); }

namespace {

// JSON string as nlohmann::json dumps it with ensure_ascii off: the two
// mandatory escapes, the short forms of five controls, \u00xx (lower-case
// hex) for the other controls, every other byte as is. Precondition: `s`
// is valid UTF-8.
void put_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out.push_back(kHex[c >> 4]);
          out.push_back(kHex[c & 0xF]);
        } else {
          out.push_back(ch);
        }
    }
  }
  out.push_back('"');
}

void put_field(std::string& out, std::string_view key, std::string_view value) {
  out.push_back('"');
  out.append(key);
  out += "\":";
  put_string(out, value);
  out.push_back(',');
}

void put_int(std::string& out, std::string_view key, long long value) {
  out.push_back('"');
  out.append(key);
  out += "\":";
  out += std::to_string(value);
  out.push_back(',');
}

std::string encode_body_json(std::uint64_t seq, const AuditRecord& r) {
  nlohmann::json j = {
      {"v", 1},
      {"seq", seq},
      {"time_ms", r.time_ms},
      {"event", r.event},
      {"action", action_code(r.action)},
      {"outcome", static_cast<int>(r.outcome)},
      {"facility", r.facility},
      {"user", r.user},
      {"role", r.role},
      {"peer", r.peer_facility},
      {"patient", r.patient},
      {"purpose", r.purpose},
      {"reason", r.reason_code},
      {"rule", r.rule},
      {"detail", r.detail},
      {"request_id", r.request_id},
      {"documents", r.document_ids},
      {"emergency", r.emergency},
  };
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

std::string encode_body_reference(std::uint64_t seq, const AuditRecord& r) { return encode_body_json(seq, r); }

namespace {

// Every free-text field of a record but the document ids.
template <class Record>
auto text_fields(Record& r) {
  return std::array{&r.event,   &r.facility, &r.user, &r.role,   &r.peer_facility, &r.patient,
                    &r.purpose, &r.reason_code, &r.rule, &r.detail, &r.request_id};
}

}  // namespace

void repair_text(AuditRecord& r) {
  for (std::string* f : text_fields(r)) repair_utf8(*f);
  for (auto& d : r.document_ids) repair_utf8(d);
}

std::string encode_body(std::uint64_t seq, const AuditRecord& r) {
  // Text that is not valid UTF-8 goes through the library, which replaces
  // it by U+FFFD rather than throwing.
  bool valid = true;
  for (const std::string* f : text_fields(r)) valid = valid && is_valid_utf8(*f);
  for (const auto& d : r.document_ids) valid = valid && is_valid_utf8(d);
  return valid ? encode_repaired_body(seq, r) : encode_body_json(seq, r);
}

std::string encode_repaired_body(std::uint64_t seq, const AuditRecord& r) {
  // The canonical form is nlohmann::json's compact dump of the record with
  // its keys sorted; verification hashes the stored bytes, so these must
  // never change. Written out by hand (one allocation, no tree) because
  // every audited request pays for it on the writer thread; the test suite
  // checks it byte for byte against the library.
  std::string out;
  std::size_t size = 256 + r.event.size() + r.facility.size() + r.user.size() + r.role.size() +
                     r.peer_facility.size() + r.patient.size() + r.purpose.size() + r.reason_code.size() +
                     r.rule.size() + r.detail.size() + r.request_id.size();
  for (const auto& d : r.document_ids) size += d.size() + 3;
  out.reserve(size);
  out.push_back('{');
  put_field(out, "action", action_code(r.action));
  put_field(out, "detail", r.detail);
  out += "\"documents\":[";
  for (std::size_t i = 0; i < r.document_ids.size(); ++i) {
    if (i > 0) out.push_back(',');
    put_string(out, r.document_ids[i]);
  }
  out += "],\"emergency\":";
  out += r.emergency ? "true," : "false,";
  put_field(out, "event", r.event);
  put_field(out, "facility", r.facility);
  put_int(out, "outcome", static_cast<int>(r.outcome));
  put_field(out, "patient", r.patient);
  put_field(out, "peer", r.peer_facility);
  put_field(out, "purpose", r.purpose);
  put_field(out, "reason", r.reason_code);
  put_field(out, "request_id", r.request_id);
  put_field(out, "role", r.role);
  put_field(out, "rule", r.rule);
  out += "\"seq\":";
  out += std::to_string(seq);
  out.push_back(',');
  put_int(out, "time_ms", r.time_ms);
  put_field(out, "user", r.user);
  out += "\"v\":1}";
  return out;
}

Result<AuditEntry> decode_body(std::string_view body) {
  try {
    const auto j = nlohmann::json::parse(body);
    if (j.at("v").get<int>() != 1) return make_error("record_malformed", "unknown audit record format");
    AuditEntry e;
    e.seq = j.at("seq").get<std::uint64_t>();
    auto& r = e.record;
    r.time_ms = j.at("time_ms").get<std::int64_t>();
    r.event = j.at("event").get<std::string>();
    const auto action = j.at("action").get<std::string>();
    if (action.size() != 1 || std::string_view("CRUDE").find(action[0]) == std::string_view::npos) {
      return make_error("record_malformed", "bad action code");
    }
    r.action = static_cast<AuditAction>(action[0]);
    const int outcome = j.at("outcome").get<int>();
    if (outcome != 0 && outcome != 4 && outcome != 8 && outcome != 12) {
      return make_error("record_malformed", "bad outcome code");
    }
    r.outcome = static_cast<AuditOutcome>(outcome);
    r.facility = j.at("facility").get<std::string>();
    r.user = j.at("user").get<std::string>();
    r.role = j.at("role").get<std::string>();
    r.peer_facility = j.at("peer").get<std::string>();
    r.patient = j.at("patient").get<std::string>();
    r.purpose = j.at("purpose").get<std::string>();
    r.reason_code = j.at("reason").get<std::string>();
    r.rule = j.at("rule").get<std::string>();
    r.detail = j.at("detail").get<std::string>();
    r.request_id = j.at("request_id").get<std::string>();
    r.document_ids = j.at("documents").get<std::vector<std::string>>();
    r.emergency = j.at("emergency").get<bool>();
    return e;
  } catch (const nlohmann::json::exception& ex) {
    return make_error("record_malformed", std::string("audit record body: ") + ex.what());
  }
}

Hash chain_next(const Hash& key, const Hash& prev, crypto::ByteView body) {
  return keyed_hash(key, "hiegate-audit-chain-v1", prev, body);
}

crypto::Bytes checkpoint_message(std::uint64_t seq, const crypto::Bytes& head, std::int64_t time_ms,
                                 std::uint32_t key_version) {
  const std::string_view label = "hiegate-audit-checkpoint-v1";
  crypto::Bytes m(label.begin(), label.end());
  put_be(m, seq, 8);
  put_be(m, static_cast<std::uint64_t>(time_ms), 8);
  put_be(m, key_version, 4);
  m.insert(m.end(), head.begin(), head.end());
  return m;
}

AuditCheckpoint sign_checkpoint(const Keys& keys, std::uint32_t v, std::uint64_t seq, const Hash& head,
                                std::int64_t time_ms) {
  AuditCheckpoint c;
  c.seq = seq;
  c.time_ms = time_ms;
  c.key_version = v;
  c.head.assign(head.begin(), head.end());
  const auto& pair = keys.signer(v);
  c.public_key.assign(pair.public_key.begin(), pair.public_key.end());
  const auto sig = crypto::ed25519_sign(pair.secret_key, checkpoint_message(seq, c.head, time_ms, v));
  c.signature.assign(sig.begin(), sig.end());
  return c;
}

bool checkpoint_valid(const AuditCheckpoint& c, const Keys* keys) {
  if (c.head.size() != 32) return false;
  if (keys != nullptr && keys->has(c.key_version)) {
    const auto& ours = keys->signer(c.key_version).public_key;
    if (!std::equal(ours.begin(), ours.end(), c.public_key.begin(), c.public_key.end())) return false;
  }
  return crypto::ed25519_verify(c.public_key, checkpoint_message(c.seq, c.head, c.time_ms, c.key_version),
                                c.signature);
}

}  // namespace hiegate::daemon::audit
