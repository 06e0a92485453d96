#include "peer_answers.hpp"

#include <boost/beast/core/string.hpp>

#include "clinical_common.hpp"
#include "hiegate/crypto/encoding.hpp"
#include "hiegate/common/utf8.hpp"
#include "hiegate/policy/actor.hpp"

namespace hiegate::daemon {

using nlohmann::json;

namespace {

/// `j[key]` when it is a string of at most `max` bytes.
std::optional<std::string> string_at(const json& j, const char* key, std::size_t max) {
  if (!j.is_object()) return std::nullopt;
  const auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return std::nullopt;
  auto s = it->get<std::string>();
  if (s.size() > max) return std::nullopt;
  return s;
}

bool snake_case(const std::string& s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

}  // namespace

json peer_document_meta(const json& in) {
  json out = json::object();
  if (!in.is_object()) return out;
  if (auto id = string_at(in, "id", 64); id && policy::is_document_id(*id)) out["id"] = *id;
  for (const auto& [key, max] : {std::pair{"type", 64}, {"title", 512}, {"created", 32}, {"content_type", 128}}) {
    if (auto v = string_at(in, key, static_cast<std::size_t>(max))) out[key] = valid_utf8(*v);
  }
  if (auto patient = string_at(in, "patient", 64); patient && policy::is_patient_id(*patient)) {
    out["patient"] = *patient;
  }
  if (auto rule = string_at(in, "rule", 128)) out["rule"] = valid_utf8(*rule);
  if (const auto it = in.find("size"); it != in.end() && it->is_number_unsigned()) out["size"] = *it;
  if (const auto it = in.find("emergency"); it != in.end() && it->is_boolean()) out["emergency"] = *it;
  return out;
}

PeerList read_peer_list(const transport::PeerResponse& res) {
  PeerList out;
  if (res.status != 200) {
    out.status = peer_busy(res) ? "unavailable" : "refused";
    out.error = peer_error_json(res);
    return out;
  }
  out.status = "answered";
  const auto j = json::parse(res.body, nullptr, false);
  if (!j.is_object()) return out;
  if (const auto it = j.find("documents"); it != j.end() && it->is_array()) {
    for (const auto& d : *it) {
      json m = peer_document_meta(d);
      if (m.contains("id")) out.documents.push_back(std::move(m));
    }
  }
  if (const auto it = j.find("emergency"); it != j.end() && it->is_boolean()) out.emergency = it->get<bool>();
  return out;
}

Result<std::pair<json, std::string>> read_peer_document(transport::PeerResponse& res) {
  if (res.content_type.starts_with(kRawContentType)) {
    std::optional<json> meta;
    for (const auto& [k, v] : res.headers) {
      if (boost::beast::iequals(k, kDocumentHeader)) meta = read_document_header(v);
    }
    if (!meta) return make_error("peer_error", "malformed answer: no document metadata");
    return std::pair{peer_document_meta(*meta), std::move(res.body)};
  }
  const auto j = json::parse(res.body, nullptr, false);
  const auto b64 = string_at(j, "content_base64", std::string::npos);
  if (!b64) return make_error("peer_error", "malformed answer");
  auto content = crypto::from_base64(*b64);
  if (!content) return make_error("peer_error", "malformed content");
  return std::pair{peer_document_meta(j), std::string(content->begin(), content->end())};
}

bool peer_busy(const transport::PeerResponse& res) {
  if (res.status == 429) return true;
  if (res.status != 503) return false;
  const auto j = json::parse(res.body, nullptr, false);
  const auto code = j.is_object() ? string_at(j.value("error", json()), "code", 64) : std::nullopt;
  return code && (*code == "too_many_connections" || *code == "overloaded");
}

json peer_error_json(const transport::PeerResponse& res) {
  const auto j = json::parse(res.body, nullptr, false);
  const json e = j.is_object() ? j.value("error", json()) : json();
  json out = {{"code", "peer_error"}, {"message", "HTTP " + std::to_string(res.status)}};
  if (auto code = string_at(e, "code", 64); code && snake_case(*code)) out["code"] = *code;
  if (auto message = string_at(e, "message", 1000)) out["message"] = valid_utf8(*message);
  if (auto rule = string_at(e, "rule", 128)) out["rule"] = valid_utf8(*rule);
  // A stop: the secretariat's order and its reason.
  if (auto order = string_at(e, "order", 64); order && policy::is_local_id(*order)) out["order"] = *order;
  if (auto reason = string_at(e, "reason", 32); reason && snake_case(*reason)) out["reason"] = *reason;
  if (e.is_object() && e.contains("localized")) {
    const json& l = e["localized"];
    auto ja = string_at(l, "ja", 1000), en = string_at(l, "en", 1000);
    if (ja && en) out["localized"] = {{"ja", valid_utf8(*ja)}, {"en", valid_utf8(*en)}};
  }
  return out;
}

unsigned peer_refusal_status(int status) { return status >= 400 && status <= 599 ? static_cast<unsigned>(status) : 502; }

}  // namespace hiegate::daemon
