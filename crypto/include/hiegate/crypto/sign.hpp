// Ed25519 signatures (libsodium), named for their purpose.
//
// Verification fails closed: any size mismatch, a public key that is not a
// canonical point of the prime-order subgroup (this includes the all-zero key
// and every key of small order), or a non-canonical signature (S >= L) simply
// does not verify. Secret keys live only in sodium_malloc'd memory that is
// guarded and wiped on release. Every function is thread-safe.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "hiegate/common/result.hpp"
#include "hiegate/crypto/encoding.hpp"

namespace hiegate::crypto {

inline constexpr std::size_t kEd25519PublicKeySize = 32;
inline constexpr std::size_t kEd25519SeedSize = 32;
inline constexpr std::size_t kEd25519SecretKeySize = 64;
inline constexpr std::size_t kEd25519SignatureSize = 64;

using Ed25519PublicKey = std::array<std::uint8_t, kEd25519PublicKeySize>;
using Ed25519Signature = std::array<std::uint8_t, kEd25519SignatureSize>;

/// An Ed25519 secret key (libsodium's 64-byte seed || public key form) held in
/// sodium_malloc'd memory: guard pages, excluded from core dumps where the OS
/// allows, zeroed when destroyed. Move-only; a moved-from key is empty and
/// cannot sign.
class Ed25519SecretKey {
 public:
  Ed25519SecretKey() = default;
  ~Ed25519SecretKey();
  Ed25519SecretKey(Ed25519SecretKey&& other) noexcept;
  Ed25519SecretKey& operator=(Ed25519SecretKey&& other) noexcept;
  Ed25519SecretKey(const Ed25519SecretKey&) = delete;
  Ed25519SecretKey& operator=(const Ed25519SecretKey&) = delete;

  [[nodiscard]] bool empty() const noexcept { return data_ == nullptr; }
  /// The 32-byte seed the key derives from (for sealed storage by the caller).
  [[nodiscard]] ByteView seed() const noexcept;

 private:
  friend struct Ed25519Access;
  std::uint8_t* data_ = nullptr;  // kEd25519SecretKeySize bytes or null
};

struct Ed25519KeyPair {
  Ed25519PublicKey public_key{};
  Ed25519SecretKey secret_key;
};

/// A fresh key pair from the OS CSPRNG. Fails (`crypto_unavailable`) only if
/// libsodium cannot start or secure memory cannot be allocated.
[[nodiscard]] Result<Ed25519KeyPair> ed25519_generate();

/// The key pair derived from a 32-byte seed (`invalid_key` on a wrong size).
[[nodiscard]] Result<Ed25519KeyPair> ed25519_from_seed(ByteView seed);

/// Signs `message`. Precondition: `key` is not empty (asserted; an empty key
/// yields an all-zero signature that never verifies).
[[nodiscard]] Ed25519Signature ed25519_sign(const Ed25519SecretKey& key, ByteView message);

/// True only for a 32-byte canonical encoding of a point of the prime-order
/// subgroup that is not of small order.
[[nodiscard]] bool ed25519_is_valid_public_key(ByteView public_key) noexcept;

/// Detached verification: true only for a valid public key and a 64-byte
/// canonical signature of exactly `message`.
[[nodiscard]] bool ed25519_verify(ByteView public_key, ByteView message,
                                  ByteView signature) noexcept;

}  // namespace hiegate::crypto
