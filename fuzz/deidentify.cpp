// Fuzz target for the FHIR de-identifier (policy/deidentify.hpp): the input
// bytes are offered as FHIR JSON.
// Contract checked: no crash, no sanitizer report; every refusal is
// `cannot_anonymize`; every success is a JSON object with a resourceType in
// which no identifying element (name, identifier, telecom, address, photo,
// contact, extension, text) is left at any depth.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include <nlohmann/json.hpp>

#include "hiegate/policy/deidentify.hpp"

namespace {

constexpr std::string_view kForbidden[] = {"name", "identifier", "masterIdentifier", "telecom", "address",
                                           "photo", "contact", "extension", "modifierExtension", "text"};

void check_clean(const nlohmann::json& j) {
  if (j.is_object()) {
    for (const auto& [k, v] : j.items()) {
      for (std::string_view f : kForbidden) {
        if (k == f) std::abort();
      }
      check_clean(v);
    }
  } else if (j.is_array()) {
    for (const auto& e : j) check_clean(e);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const hiegate::crypto::Bytes key(32, 0x5A);
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto out = hiegate::policy::deidentify("application/fhir+json", text, {key, std::chrono::days{-123}});
  if (!out.ok()) {
    if (out.error().code != "cannot_anonymize") std::abort();
    return 0;
  }
  const auto doc = nlohmann::json::parse(out.value(), nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("resourceType")) std::abort();
  check_clean(doc);
  return 0;
}
