// De-identification of FHIR JSON for secondary use (規程 第17条).
//
// Only FHIR R4 JSON (a resource or a Bundle) is accepted; PDF, DICOM, images,
// HL7 v2, plain text and anything else opaque is refused with
// `cannot_anonymize`, never passed through. Direct identifiers are removed,
// birth dates cut to the year, other dates shifted by a per-export offset,
// and resource ids and references re-keyed to pseudonyms that are stable
// within one export (same key) and unlinkable across exports (fresh key).
// The method and its limits are described in docs/exports.md.
//
// Pure function: the caller draws the key and the shift for each export
// (crypto::random_bytes) and keeps them only as long as the export lasts.
// Thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

#include "hiegate/common/result.hpp"
#include "hiegate/crypto/encoding.hpp"

namespace hiegate::policy {

inline constexpr std::chrono::days kMaxDateShift{3650};

struct DeidentifyParams {
  /// Pseudonym key, exactly 32 bytes, fresh for each export. Not owned.
  crypto::ByteView key;
  /// Added to every date; non-zero, |shift| <= kMaxDateShift. Draw it
  /// uniformly from a range (e.g. ±180 days excluding 0) for each export.
  std::chrono::days date_shift{0};
  std::size_t max_bytes = std::size_t{16} << 20;
  std::size_t max_depth = 64;
};

/// `content_type` is the document's media type (parameters allowed;
/// a charset other than utf-8 is refused). Returns the de-identified JSON
/// text (UTF-8, compact). Errors: `invalid_argument` (bad params),
/// `cannot_anonymize` (opaque format, invalid JSON, not FHIR, too large or
/// deep, modifierExtension present); messages never quote the content.
[[nodiscard]] Result<std::string> deidentify(std::string_view content_type, std::string_view body,
                                             const DeidentifyParams& params);

}  // namespace hiegate::policy
