// A strict JSON reader for signed documents (RFC 8259, nothing more).
//
// Refuses: invalid UTF-8 anywhere (overlong forms, encoded surrogates, code
// points above U+10FFFF), unpaired \u surrogates, a byte order mark, duplicate
// member names in any object, bytes after the value, comments, nesting deeper
// than `max_depth`. Numbers keep their JSON kind: an integer literal stays an
// integer, anything with a fraction or exponent is a float. Pure function,
// thread-safe.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string_view>

#include "hiegate/common/result.hpp"

namespace hiegate::policy {

inline constexpr std::size_t kDefaultMaxJsonDepth = 32;

/// Error code on refusal: `malformed`, message says why and where.
[[nodiscard]] Result<nlohmann::json> parse_strict_json(
    std::string_view text, std::size_t max_depth = kDefaultMaxJsonDepth);

}  // namespace hiegate::policy
