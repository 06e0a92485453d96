#include "hiegate/crypto/encoding.hpp"

#include <sodium.h>

#include "hiegate/crypto/primitives.hpp"

namespace hiegate::crypto {

std::string to_hex(ByteView data) {
  std::string out(data.size() * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), data.data(), data.size());
  out.pop_back();
  return out;
}

std::optional<Bytes> from_hex(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  if (hex.empty()) return Bytes{};  // libsodium's output pointer must not be null
  Bytes out(hex.size() / 2);
  std::size_t len = 0;
  const char* end = nullptr;
  if (sodium_hex2bin(out.data(), out.size(), hex.data(), hex.size(), nullptr, &len, &end) != 0 ||
      len != out.size() || end != hex.data() + hex.size()) {
    return std::nullopt;
  }
  return out;
}

std::string to_base64(ByteView data) {
  (void)init();
  const std::size_t cap = sodium_base64_ENCODED_LEN(data.size(), sodium_base64_VARIANT_ORIGINAL);
  std::string out(cap, '\0');
  sodium_bin2base64(out.data(), cap, data.data(), data.size(), sodium_base64_VARIANT_ORIGINAL);
  out.resize(cap - 1);
  return out;
}

std::optional<Bytes> from_base64(std::string_view b64) {
  (void)init();
  if (b64.size() % 4 != 0) return std::nullopt;  // padding is mandatory
  if (b64.empty()) return Bytes{};  // libsodium's output pointer must not be null
  Bytes out(b64.size() / 4 * 3);
  std::size_t len = 0;
  const char* end = nullptr;
  // No ignore set: whitespace is an error. libsodium also rejects
  // non-canonical trailing bits.
  if (sodium_base642bin(out.data(), out.size(), b64.data(), b64.size(), nullptr, &len, &end,
                        sodium_base64_VARIANT_ORIGINAL) != 0 ||
      end != b64.data() + b64.size()) {
    return std::nullopt;
  }
  out.resize(len);
  // Round-trip check guards against any leniency in the decoder.
  if (to_base64(out) != b64) return std::nullopt;
  return out;
}

}  // namespace hiegate::crypto
