// Watermark text for exports and printouts, rendered from a config template.
//
// Strict: a template may use only the known placeholders; anything else in
// braces, or a lone `{` / `}`, is a config error. Rendering cannot fail.
// Value type, thread-safe once built.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "hiegate/common/result.hpp"

namespace hiegate::policy {

struct WatermarkFields {
  std::string_view facility = {};
  std::string_view user = {};
  std::string_view time = {};       ///< RFC 3339 UTC
  std::string_view ticket = {};
  std::string_view kind = {};
  std::string_view delete_by = {};  ///< RFC 3339 UTC
};

class WatermarkTemplate {
public:
  /// Placeholders: {facility} {user} {time} {ticket} {kind} {delete_by};
  /// `{{` → `{`, `}}` → `}`. Error code `config_invalid`, message says which
  /// placeholder or brace is wrong (the key path is the caller's to add).
  [[nodiscard]] static Result<WatermarkTemplate> compile(std::string_view text);

  /// Control characters in values are replaced by U+FFFD so that a value
  /// cannot forge extra lines in a printed watermark.
  [[nodiscard]] std::string render(const WatermarkFields& f) const;

private:
  enum class Part : unsigned char { literal, facility, user, time, ticket, kind, delete_by };
  struct Piece {
    Part part;
    std::string text;  // literal parts only
  };
  std::vector<Piece> pieces_;
};

}  // namespace hiegate::policy
