// Allowed content types of published documents, checked against the
// content's own bytes (利用規程 第8条5号: no executables or scripts smuggled
// in under an innocent label). Pure.
#pragma once

#include <string_view>

#include "hiegate/policy/decision.hpp"

namespace hiegate::policy {

/// Allowed: application/fhir+json, application/pdf, application/hl7-v2
/// (ER7 text starting with MSH), image/jpeg, image/png, application/dicom,
/// text/plain (UTF-8 without NUL). The declared type must match the magic
/// bytes; anything executable or script-like is refused whatever its label.
[[nodiscard]] Decision check_content(std::string_view content_type, std::string_view content);

}  // namespace hiegate::policy
