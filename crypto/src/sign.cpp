#include "hiegate/crypto/sign.hpp"

#include <sodium.h>

#include <cassert>
#include <utility>

#include "hiegate/crypto/primitives.hpp"

namespace hiegate::crypto {

static_assert(kEd25519PublicKeySize == crypto_sign_PUBLICKEYBYTES);
static_assert(kEd25519SecretKeySize == crypto_sign_SECRETKEYBYTES);
static_assert(kEd25519SeedSize == crypto_sign_SEEDBYTES);
static_assert(kEd25519SignatureSize == crypto_sign_BYTES);

// Grants this file's functions access to the key bytes without widening the
// public interface.
struct Ed25519Access {
  static std::uint8_t* allocate(Ed25519SecretKey& key) {
    key.data_ = static_cast<std::uint8_t*>(sodium_malloc(kEd25519SecretKeySize));
    return key.data_;
  }
  static const std::uint8_t* data(const Ed25519SecretKey& key) { return key.data_; }
};

Ed25519SecretKey::~Ed25519SecretKey() {
  sodium_free(data_);  // zeroes before releasing; accepts null
}

Ed25519SecretKey::Ed25519SecretKey(Ed25519SecretKey&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)) {}

Ed25519SecretKey& Ed25519SecretKey::operator=(Ed25519SecretKey&& other) noexcept {
  if (this != &other) {
    sodium_free(data_);
    data_ = std::exchange(other.data_, nullptr);
  }
  return *this;
}

ByteView Ed25519SecretKey::seed() const noexcept {
  if (data_ == nullptr) return {};
  return {data_, kEd25519SeedSize};
}

namespace {

Result<Ed25519KeyPair> make_pair(const std::uint8_t* seed_or_null) {
  if (!init()) return make_error("crypto_unavailable", "libsodium failed to initialise");
  Ed25519KeyPair pair;
  std::uint8_t* sk = Ed25519Access::allocate(pair.secret_key);
  if (sk == nullptr) return make_error("crypto_unavailable", "secure memory allocation failed");
  const int rc = seed_or_null == nullptr
                     ? crypto_sign_keypair(pair.public_key.data(), sk)
                     : crypto_sign_seed_keypair(pair.public_key.data(), sk, seed_or_null);
  if (rc != 0) return make_error("crypto_unavailable", "Ed25519 key generation failed");
  return pair;
}

}  // namespace

Result<Ed25519KeyPair> ed25519_generate() { return make_pair(nullptr); }

Result<Ed25519KeyPair> ed25519_from_seed(ByteView seed) {
  if (seed.size() != kEd25519SeedSize) {
    return make_error("invalid_key", "an Ed25519 seed is 32 bytes");
  }
  return make_pair(seed.data());
}

Ed25519Signature ed25519_sign(const Ed25519SecretKey& key, ByteView message) {
  Ed25519Signature sig{};
  const std::uint8_t* sk = Ed25519Access::data(key);
  assert(sk != nullptr);
  if (sk == nullptr) return sig;
  crypto_sign_detached(sig.data(), nullptr, message.data(), message.size(), sk);
  return sig;
}

bool ed25519_is_valid_public_key(ByteView public_key) noexcept {
  if (public_key.size() != kEd25519PublicKeySize) return false;
  if (!init()) return false;
  // Rejects non-canonical encodings, small-order points (the all-zero key is
  // one), points off the curve and points outside the prime-order subgroup.
  return crypto_core_ed25519_is_valid_point(public_key.data()) == 1;
}

bool ed25519_verify(ByteView public_key, ByteView message, ByteView signature) noexcept {
  if (signature.size() != kEd25519SignatureSize) return false;
  if (!ed25519_is_valid_public_key(public_key)) return false;
  // libsodium 1.0.18 also refuses S >= L and a small-order R.
  return crypto_sign_verify_detached(signature.data(), message.data(), message.size(),
                                     public_key.data()) == 0;
}

}  // namespace hiegate::crypto
