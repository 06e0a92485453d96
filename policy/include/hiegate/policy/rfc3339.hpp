// Time as the directives spell it: RFC 3339 UTC, `Z`, whole seconds
// (`2026-11-21T09:00:00Z`). Time is always a parameter in policy/.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace hiegate::policy {

using Time = std::chrono::sys_seconds;

/// Exactly `YYYY-MM-DDTHH:MM:SSZ` with a real calendar date, hour 00-23,
/// minute and second 00-59. No offsets, fractions, lower-case letters or
/// leap seconds. Years 0001-9999.
[[nodiscard]] std::optional<Time> parse_rfc3339(std::string_view s) noexcept;

/// The inverse of parse_rfc3339 (for years 0001-9999).
[[nodiscard]] std::string format_rfc3339(Time t);

}  // namespace hiegate::policy
