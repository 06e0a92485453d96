// Keyed pseudonyms: BLAKE2b (libsodium crypto_generichash) under a secret key.
//
// The same (key, input) always gives the same pseudonym; without the key a
// pseudonym reveals nothing about its input and cannot be linked to the
// pseudonym of the same input under another key. Used to re-key identifiers
// within one export (policy/deidentify) with a fresh key per export.
//
// A Pseudonymizer owns a copy of its key, wipes it on destruction and is not
// copyable. derive() is const and thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

#include "hiegate/crypto/encoding.hpp"

namespace hiegate::crypto {

inline constexpr std::size_t kPseudonymKeySize = 32;
using Pseudonym = std::array<std::uint8_t, 16>;

class Pseudonymizer {
public:
  /// nullopt unless `key` is exactly kPseudonymKeySize bytes.
  [[nodiscard]] static std::optional<Pseudonymizer> create(ByteView key);

  ~Pseudonymizer();
  Pseudonymizer(Pseudonymizer&& other) noexcept;
  Pseudonymizer& operator=(Pseudonymizer&&) = delete;
  Pseudonymizer(const Pseudonymizer&) = delete;
  Pseudonymizer& operator=(const Pseudonymizer&) = delete;

  /// BLAKE2b-128 of `input` keyed with the key (domain-separated by a fixed
  /// personalisation so these hashes never equal other keyed hashes).
  [[nodiscard]] Pseudonym derive(std::string_view input) const;

private:
  Pseudonymizer() = default;
  std::array<std::uint8_t, kPseudonymKeySize> key_{};
};

}  // namespace hiegate::crypto
