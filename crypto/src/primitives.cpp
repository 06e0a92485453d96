#include "hiegate/crypto/primitives.hpp"

#include <sodium.h>

namespace hiegate::crypto {

bool init() {
  // sodium_init() is thread-safe and returns 1 when already initialised.
  static const bool ok = sodium_init() >= 0;
  return ok;
}

Sha256 sha256(ByteView data) {
  Sha256 out{};
  crypto_hash_sha256(out.data(), data.data(), data.size());
  return out;
}

void random_bytes(std::span<std::uint8_t> out) {
  (void)init();
  randombytes_buf(out.data(), out.size());
}

Bytes random_bytes(std::size_t n) {
  Bytes out(n);
  random_bytes(std::span<std::uint8_t>(out));
  return out;
}

bool equal_constant_time(ByteView a, ByteView b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace hiegate::crypto
