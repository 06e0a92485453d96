// Small, hard-to-misuse wrappers over libsodium primitives.
// Every function initialises libsodium on first use (thread-safe, idempotent).
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

#include "hiegate/crypto/encoding.hpp"

namespace hiegate::crypto {

/// Initialises libsodium once. Returns false if the library cannot start
/// (no entropy source): callers must refuse to run.
[[nodiscard]] bool init();

using Sha256 = std::array<std::uint8_t, 32>;

[[nodiscard]] Sha256 sha256(ByteView data);
[[nodiscard]] inline Sha256 sha256(std::string_view data) { return sha256(as_bytes(data)); }

/// Fills `out` from the OS CSPRNG.
void random_bytes(std::span<std::uint8_t> out);
[[nodiscard]] Bytes random_bytes(std::size_t n);

/// Fills `out` (at most kRandomPoolBytes) from the OS CSPRNG through a pool
/// per thread, refilled a kilobyte at a time: for values drawn per record or
/// per request (nonces, request ids), where a getrandom() system call each
/// would cost more than the rest of the draw. Every byte is handed out once
/// and wiped from the pool; a forked child discards the pool it inherited,
/// so parent and child never draw the same bytes.
inline constexpr std::size_t kRandomPoolBytes = 24 * 42;
void pooled_random_bytes(std::span<std::uint8_t> out);

/// Constant-time comparison; false when sizes differ (sizes are not secret).
[[nodiscard]] bool equal_constant_time(ByteView a, ByteView b);

}  // namespace hiegate::crypto
