#include "hiegate/policy/deidentify.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <set>
#include <vector>

#include <nlohmann/json.hpp>

#include "deid_values.hpp"

namespace hiegate::policy {
namespace {

using nlohmann::json;

Error refuse(std::string why) { return make_error("cannot_anonymize", std::move(why)); }

constexpr std::string_view kRedacted = "[redacted]";
constexpr std::size_t kMinSecret = 3;     // bytes; shorter values match too much
constexpr std::size_t kMaxSecret = 256;   // longer values are blobs, not names
constexpr std::size_t kMaxSecrets = 4096;

// Identifying structures: removed, and their string values remembered so that
// copies of them elsewhere (free text, displays) are redacted too.
constexpr std::array<std::string_view, 9> kIdentifying = {
    "name", "identifier", "masterIdentifier", "telecom", "address", "contact", "photo", "alias", "extension"};
// Choice-type suffixes of identifying data types (valueHumanName, ...).
constexpr std::array<std::string_view, 4> kIdentifyingTypes = {"HumanName", "Address", "ContactPoint", "Identifier"};
// Free text, links, metadata and opaque content: removed.
constexpr std::array<std::string_view, 14> kDropped = {
    "text", "note", "comment", "description", "patientInstruction", "meta", "data", "url",
    "hash", "title", "link", "request", "response", "signature"};
// Inside a removed structure, codes rather than identifying values.
constexpr std::array<std::string_view, 11> kNotSecret = {"system", "use", "type", "country", "period", "rank",
                                                         "language", "gender", "relationship", "status", "url"};

template <std::size_t N>
bool in(const std::array<std::string_view, N>& set, std::string_view key) {
  return std::find(set.begin(), set.end(), key) != set.end();
}

bool identifying_key(std::string_view key) {
  if (in(kIdentifying, key) || key.starts_with('_')) return true;
  return std::any_of(kIdentifyingTypes.begin(), kIdentifyingTypes.end(), [&](std::string_view t) {
    return key.size() > t.size() && key.ends_with(t) && std::islower(static_cast<unsigned char>(key[0]));
  });
}

bool looks_like_coding(const json& obj) { return obj.contains("code") || obj.contains("system"); }

class Walker {
public:
  Walker(const crypto::Pseudonymizer& p, std::chrono::days shift) : p_(p), shift_(shift) {}

  Status resource(json& node, bool contained);
  void scrub(json& node) const;
  /// True when more identifying values were found than can be tracked.
  [[nodiscard]] bool overflow() const { return overflow_; }

private:
  Status object(json& node);
  Status value(json& node);
  Status member(json& obj, const std::string& key, std::vector<std::string>& erase);
  void collect(const json& node);

  const crypto::Pseudonymizer& p_;
  std::chrono::days shift_;
  std::set<std::string> secrets_;
  bool overflow_ = false;
};

Status Walker::resource(json& node, bool contained) {
  if (!node.is_object()) return refuse("a resource is not a JSON object");
  const auto type = node.find("resourceType");
  if (type == node.end() || !type->is_string() || !deid::is_resource_type(type->get_ref<const std::string&>())) {
    return refuse("not a FHIR resource (no valid resourceType)");
  }
  const std::string type_name = type->get<std::string>();
  if (auto id = node.find("id"); id != node.end()) {
    if (!id->is_string()) return refuse("resource id is not a string");
    const std::string key = (contained ? "#" : type_name + "/") + id->get<std::string>();
    *id = deid::id_pseudonym(p_, key);
  }
  if (Status s = object(node); !s) return s;
  node["meta"] = {{"security", json::array({{{"system", "http://terminology.hl7.org/CodeSystem/v3-ObservationValue"},
                                             {"code", "PSEUDED"}}})}};
  return {};
}

Status Walker::object(json& node) {
  if (node.contains("modifierExtension")) {
    return refuse("modifierExtension present: its meaning cannot be kept after de-identification");
  }
  std::vector<std::string> erase;
  for (auto& [key, child] : node.items()) {
    if (!deid::is_element_name(key)) return refuse("member name is not a FHIR element name");
    if (Status s = member(node, key, erase); !s) return s;
  }
  for (const std::string& k : erase) node.erase(k);
  return {};
}

Status Walker::member(json& obj, const std::string& key, std::vector<std::string>& erase) {
  json& child = obj[key];
  const bool in_resource = obj.contains("resourceType");
  if (identifying_key(key) || (key == "display" && !looks_like_coding(obj))) {
    collect(child);
    erase.push_back(key);
  } else if (in(kDropped, key)) {
    erase.push_back(key);
  } else if (key == "id") {
    if (!in_resource) erase.push_back(key);  // element ids; resource ids are already re-keyed
  } else if (key == "resourceType") {
    // checked by resource()
  } else if (key == "birthDate") {
    auto y = child.is_string() ? deid::birth_year(child.get<std::string>()) : std::nullopt;
    if (y) child = *y; else erase.push_back(key);
  } else if (key == "reference" || key == "fullUrl") {
    auto r = child.is_string() ? deid::rekey_reference(p_, child.get<std::string>()) : std::nullopt;
    if (r) child = *r; else erase.push_back(key);
  } else if (key == "contained") {
    if (!child.is_array()) return refuse("contained is not an array");
    for (json& r : child) {
      if (Status s = resource(r, true); !s) return s;
    }
  } else if (Status s = value(child); !s) {
    return s;
  }
  return {};
}

Status Walker::value(json& node) {
  if (node.is_object()) return node.contains("resourceType") ? resource(node, false) : object(node);
  if (node.is_array()) {
    for (json& e : node) {
      if (Status s = value(e); !s) return s;
    }
  } else if (node.is_string()) {
    std::string s = node.get<std::string>();
    node = deid::shift_dates(s, shift_) ? s : std::string(kRedacted);
  }
  return {};
}

void Walker::collect(const json& node) {
  if (node.is_string()) {
    const auto& s = node.get_ref<const std::string&>();
    if (s.size() < kMinSecret || s.size() > kMaxSecret) return;
    if (secrets_.size() >= kMaxSecrets) {
      overflow_ = true;
    } else {
      secrets_.insert(s);
    }
  } else if (node.is_array()) {
    for (const json& e : node) collect(e);
  } else if (node.is_object()) {
    for (const auto& [k, v] : node.items()) {
      if (!in(kNotSecret, k)) collect(v);
    }
  }
}

// Second pass: any remaining string that contains a removed identifying value
// is replaced as a whole. Pseudonyms (id, reference, fullUrl) are skipped.
void Walker::scrub(json& node) const {
  if (node.is_object()) {
    for (auto& [k, v] : node.items()) {
      if (k != "id" && k != "reference" && k != "fullUrl") scrub(v);
    }
  } else if (node.is_array()) {
    for (json& e : node) scrub(e);
  } else if (node.is_string()) {
    const auto& s = node.get_ref<const std::string&>();
    if (std::any_of(secrets_.begin(), secrets_.end(),
                    [&](const std::string& secret) { return s.find(secret) != std::string::npos; })) {
      node = std::string(kRedacted);
    }
  }
}

/// The format name when `body` is recognisably opaque, for the refusal message.
std::string_view sniff_opaque(std::string_view body) {
  if (body.starts_with("%PDF")) return "PDF";
  if (body.size() >= 132 && body.substr(128, 4) == "DICM") return "DICOM";
  if (body.starts_with("\x89PNG") || body.starts_with("\xFF\xD8\xFF") || body.starts_with("GIF8")) return "image";
  if (body.starts_with("MSH|")) return "HL7 v2";
  return {};
}

Status check_content_type(std::string_view ct) {
  std::string lower(ct);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  lower.erase(std::remove(lower.begin(), lower.end(), ' '), lower.end());
  const std::size_t semi = lower.find(';');
  const std::string type = lower.substr(0, semi);
  if (type != "application/fhir+json" && type != "application/json+fhir" && type != "application/json") {
    return refuse("content type " + type + " cannot be de-identified; only FHIR JSON can");
  }
  for (std::size_t at = semi; at != std::string::npos;) {
    const std::size_t next = lower.find(';', at + 1);
    const std::string param = lower.substr(at + 1, next == std::string::npos ? std::string::npos : next - at - 1);
    if (param.starts_with("charset=") && param != "charset=utf-8") return refuse("only UTF-8 FHIR JSON");
    at = next;
  }
  return {};
}

struct TooDeep {};

}  // namespace

Result<std::string> deidentify(std::string_view content_type, std::string_view body, const DeidentifyParams& params) {
  auto pseudonymizer = crypto::Pseudonymizer::create(params.key);
  if (!pseudonymizer) return make_error("invalid_argument", "pseudonym key must be 32 bytes");
  if (params.date_shift == std::chrono::days{0} || params.date_shift > kMaxDateShift ||
      params.date_shift < -kMaxDateShift) {
    return make_error("invalid_argument", "date shift must be non-zero and at most 3650 days");
  }
  if (const std::string_view kind = sniff_opaque(body); !kind.empty()) {
    return refuse(std::string(kind) + " content cannot be de-identified");
  }
  if (Status s = check_content_type(content_type); !s) return Error(s.error());
  if (body.size() > params.max_bytes) return refuse("document larger than the de-identification limit");

  json doc;
  try {
    const auto max_depth = static_cast<int>(params.max_depth);
    doc = json::parse(body, [max_depth](int depth, json::parse_event_t, json&) {
      if (depth > max_depth) throw TooDeep{};
      return true;
    });
  } catch (const TooDeep&) {
    return refuse("JSON nested deeper than the de-identification limit");
  } catch (const json::exception&) {
    return refuse("not valid JSON");
  }
  try {
    Walker walker(*pseudonymizer, params.date_shift);
    if (Status s = walker.resource(doc, false); !s) return Error(s.error());
    if (walker.overflow()) return refuse("too many identifying values to track");
    walker.scrub(doc);
    return doc.dump();
  } catch (const json::exception&) {
    return refuse("document could not be de-identified");
  }
}

}  // namespace hiegate::policy
