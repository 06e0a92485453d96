// Hex and base64 codecs, strict on input.
// Thread-safe, no global state.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace hiegate::crypto {

using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;

inline ByteView as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

/// Lower-case hex.
std::string to_hex(ByteView data);
/// Accepts lower- or upper-case hex of even length; nullopt otherwise.
std::optional<Bytes> from_hex(std::string_view hex);

/// Standard base64 (RFC 4648 section 4) with padding.
std::string to_base64(ByteView data);
/// Strict: standard alphabet, padding required, no whitespace, canonical
/// trailing bits. Anything else is nullopt.
std::optional<Bytes> from_base64(std::string_view b64);

}  // namespace hiegate::crypto
