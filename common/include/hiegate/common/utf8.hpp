// UTF-8 repair for strings that come from the wire (request headers) and end
// up in JSON or in records that must never fail to encode.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace hiegate {

namespace utf8_detail {

/// Length of the well-formed UTF-8 sequence at s[i] (1-4), or 0 if the bytes
/// there are not one (stray or missing continuation bytes, overlong forms,
/// surrogates, code points past U+10FFFF). Precondition: i < s.size().
[[nodiscard]] inline std::size_t sequence_length(std::string_view s, std::size_t i) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const unsigned char c = p[i];
  if (c < 0x80) return 1;
  std::size_t len = 0;
  std::uint32_t cp = 0;
  if ((c & 0xE0) == 0xC0) len = 2, cp = c & 0x1F;
  else if ((c & 0xF0) == 0xE0) len = 3, cp = c & 0x0F;
  else if ((c & 0xF8) == 0xF0) len = 4, cp = c & 0x07;
  if (len == 0 || i + len > s.size()) return 0;
  for (std::size_t k = 1; k < len; ++k) {
    if ((p[i + k] & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (p[i + k] & 0x3F);
  }
  const bool ok = !(len == 2 && cp < 0x80) && !(len == 3 && cp < 0x800) && !(len == 4 && cp < 0x10000) &&
                  !(cp >= 0xD800 && cp <= 0xDFFF) && cp <= 0x10FFFF;
  return ok ? len : 0;
}

}  // namespace utf8_detail

/// True if `s` is well-formed UTF-8 throughout.
[[nodiscard]] inline bool is_valid_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const auto len = utf8_detail::sequence_length(s, i);
    if (len == 0) return false;
    i += len;
  }
  return true;
}

/// `s` with every invalid UTF-8 sequence replaced by U+FFFD, one per
/// offending byte. Valid input comes back unchanged.
[[nodiscard]] inline std::string valid_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    const auto len = utf8_detail::sequence_length(s, i);
    if (len != 0) {
      out.append(s.substr(i, len));
      i += len;
    } else {
      out += "\xEF\xBF\xBD";  // U+FFFD
      ++i;
    }
  }
  return out;
}

/// Repairs `s` in place as valid_utf8 does, copying only when it must.
inline void repair_utf8(std::string& s) {
  if (!is_valid_utf8(s)) s = valid_utf8(s);
}

}  // namespace hiegate
