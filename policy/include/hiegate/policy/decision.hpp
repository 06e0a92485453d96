// The result of every policy decision: allowed or refused, the rule that
// decided, and for a refusal a stable code with a short bilingual message
// the EHR can show. Pure value type.
#pragma once

#include <string>
#include <string_view>

namespace hiegate::policy {

struct Decision {
  bool allowed = false;
  std::string rule;        ///< e.g. "consent.valid", "users.suspended" — names the rule that decided
  std::string code;        ///< stable refusal code ("consent_expired"); empty when allowed
  std::string message_ja;  ///< for the clinician
  std::string message_en;

  static Decision allow(std::string rule) { return Decision{true, std::move(rule), {}, {}, {}}; }
  static Decision refuse(std::string rule, std::string code, std::string ja, std::string en) {
    return Decision{false, std::move(rule), std::move(code), std::move(ja), std::move(en)};
  }
  explicit operator bool() const { return allowed; }
};

}  // namespace hiegate::policy
