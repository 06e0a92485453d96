// JSON forms of checkpoints (external anchoring) and entries (export).
#include <nlohmann/json.hpp>

#include "audit/chain.hpp"
#include "hiegate/crypto/encoding.hpp"

namespace hiegate::daemon {

std::string checkpoint_to_json(const AuditCheckpoint& c) {
  const nlohmann::json j = {{"seq", c.seq},
                            {"time_ms", c.time_ms},
                            {"key_version", c.key_version},
                            {"head", crypto::to_hex(c.head)},
                            {"public_key", crypto::to_hex(c.public_key)},
                            {"signature", crypto::to_hex(c.signature)}};
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Result<AuditCheckpoint> checkpoint_from_json(std::string_view line) {
  try {
    const auto j = nlohmann::json::parse(line);
    AuditCheckpoint c;
    c.seq = j.at("seq").get<std::uint64_t>();
    c.time_ms = j.at("time_ms").get<std::int64_t>();
    c.key_version = j.at("key_version").get<std::uint32_t>();
    auto hex = [&](const char* k) -> std::optional<crypto::Bytes> {
      return crypto::from_hex(j.at(k).get<std::string>());
    };
    auto head = hex("head"), pk = hex("public_key"), sig = hex("signature");
    if (!head || !pk || !sig || head->size() != 32 || pk->size() != 32 || sig->size() != 64) {
      return make_error("checkpoint_malformed", "checkpoint has a bad head, public_key or signature");
    }
    c.head = std::move(*head);
    c.public_key = std::move(*pk);
    c.signature = std::move(*sig);
    return c;
  } catch (const nlohmann::json::exception& e) {
    return make_error("checkpoint_malformed", std::string("checkpoint line: ") + e.what());
  }
}

std::string entry_to_json(const AuditEntry& e, std::string_view patient_hash_hex, bool with_patient) {
  const auto& r = e.record;
  // FHIR AuditEvent / ATNA names (docs/audit.md has the mapping).
  nlohmann::json j = {
      {"seq", e.seq},
      {"recorded_ms", r.time_ms},
      {"type", r.event},
      {"action", audit::action_code(r.action)},
      {"outcome", static_cast<int>(r.outcome)},
      {"outcome_desc", r.reason_code},
      {"rule", r.rule},
      {"purpose_of_event", r.purpose},
      {"agent", {{"who", r.user}, {"role", r.role}, {"network", r.facility}}},
      {"source", {{"site", r.facility}}},
      {"peer_facility", r.peer_facility},
      {"entity", {{"patient_hash", std::string(patient_hash_hex)}, {"documents", r.document_ids}}},
      {"emergency", r.emergency},
      {"detail", r.detail},
      {"request_id", r.request_id},
  };
  if (with_patient) j["entity"]["patient"] = r.patient;
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace hiegate::daemon
