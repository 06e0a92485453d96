#include "hiegate/crypto/pseudonym.hpp"

#include <sodium.h>

#include <algorithm>

#include "hiegate/crypto/primitives.hpp"

namespace hiegate::crypto {
namespace {

// 16-byte personalisation for crypto_generichash_blake2b_salt_personal.
constexpr std::array<std::uint8_t, crypto_generichash_blake2b_PERSONALBYTES> kPersonal = {
    'h', 'i', 'e', 'g', 'a', 't', 'e', '-', 'p', 's', 'e', 'u', 'd', 'o', 'n', '1'};

}  // namespace

std::optional<Pseudonymizer> Pseudonymizer::create(ByteView key) {
  if (key.size() != kPseudonymKeySize || !init()) return std::nullopt;
  Pseudonymizer p;
  std::copy(key.begin(), key.end(), p.key_.begin());
  return p;
}

Pseudonymizer::~Pseudonymizer() { sodium_memzero(key_.data(), key_.size()); }

Pseudonymizer::Pseudonymizer(Pseudonymizer&& other) noexcept : key_(other.key_) {
  sodium_memzero(other.key_.data(), other.key_.size());
}

Pseudonym Pseudonymizer::derive(std::string_view input) const {
  static_assert(std::tuple_size_v<Pseudonym> >= crypto_generichash_blake2b_BYTES_MIN);
  Pseudonym out{};
  crypto_generichash_blake2b_salt_personal(
      out.data(), out.size(), reinterpret_cast<const unsigned char*>(input.data()), input.size(),
      key_.data(), key_.size(), nullptr, kPersonal.data());
  return out;
}

}  // namespace hiegate::crypto
