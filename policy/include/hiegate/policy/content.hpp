// Allowed content types of published documents, checked against the
// content's own bytes (利用規程 第8条5号: no executables or scripts smuggled
// in under an innocent label). Pure.
#pragma once

#include <cstddef>
#include <string_view>

#include "hiegate/policy/decision.hpp"

namespace hiegate::policy {

/// Allowed: application/fhir+json, application/pdf, application/hl7-v2
/// (ER7 text starting with MSH), image/jpeg, image/png, application/dicom,
/// text/plain (UTF-8 without NUL). The declared type must match the magic
/// bytes; anything executable or script-like is refused whatever its label.
[[nodiscard]] Decision check_content(std::string_view content_type, std::string_view content);

/// How many first bytes check_content_head looks at.
inline constexpr std::size_t kContentHeadBytes = 512;
/// What the first bytes of a content decide, for content passed on as it
/// arrives (a large document relayed from another facility): the allow-list,
/// emptiness, executables and scripts, the magic bytes of every type. `head`
/// is the first kContentHeadBytes bytes, or the whole content when shorter.
/// The same as check_content for the binary types; for the text types the
/// checks of the whole content (FHIR JSON parses, UTF-8) are left out.
[[nodiscard]] Decision check_content_head(std::string_view content_type, std::string_view head);

/// Whether `content_type` is on the allow-list at all
/// (content_type_not_allowed), whatever the content.
[[nodiscard]] Decision check_content_type(std::string_view content_type);

/// Whether check_content needs the whole content of this type (FHIR JSON
/// parses, UTF-8 text) rather than its first bytes: the text types.
[[nodiscard]] bool content_checked_whole(std::string_view content_type);

}  // namespace hiegate::policy
