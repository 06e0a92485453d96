// Value-level steps of the de-identifier (private to policy/).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "hiegate/crypto/pseudonym.hpp"

namespace hiegate::policy::deid {

/// Shifts every `YYYY-MM-DD` in `s` (not touching other digits) by `shift`
/// days, and a whole-string `YYYY-MM` by the same amount from mid-month.
/// Returns false when a shifted date would leave years 0001-9999 (the
/// caller then redacts the string).
[[nodiscard]] bool shift_dates(std::string& s, std::chrono::days shift);

/// `YYYY` of a FHIR date/dateTime, nullopt if `s` does not start with one.
[[nodiscard]] std::optional<std::string> birth_year(std::string_view s);

/// Pseudonym of a resource id: 32 hex digits, from "Type/id" (or "#id" for a
/// contained resource).
[[nodiscard]] std::string id_pseudonym(const crypto::Pseudonymizer& p, std::string_view key);

/// Re-keyed form of a reference or fullUrl: `#x`, `urn:uuid:`/`urn:oid:`,
/// relative `Type/id[/_history/v]`, or absolute `<base>/Type/id` (the base is
/// replaced by kNeutralBase). nullopt for anything else (conditional
/// references, unparseable values): the caller drops it.
[[nodiscard]] std::optional<std::string> rekey_reference(const crypto::Pseudonymizer& p, std::string_view ref);

inline constexpr std::string_view kNeutralBase = "https://deidentified.invalid/fhir/";

/// FHIR element name syntax (ASCII, starts with a letter or `_`).
[[nodiscard]] bool is_element_name(std::string_view s) noexcept;
/// FHIR resource type syntax: `[A-Z][A-Za-z]{0,63}`.
[[nodiscard]] bool is_resource_type(std::string_view s) noexcept;

}  // namespace hiegate::policy::deid
