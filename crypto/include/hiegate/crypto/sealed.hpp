// Sealed records: the only form in which patient data reaches the disk.
//
// Format (all integers big-endian):
//   magic "HGSR" | format u8 | key version u32 | nonce or stream header (24) | body
// format 1: body = XChaCha20-Poly1305-IETF ciphertext + 16-byte tag.
// format 2: body is a crypto_secretstream_xchacha20poly1305 stream carried
//           separately, chunk by chunk (kStreamChunk plaintext bytes each,
//           the last one tagged FINAL).
// Associated data = the 33-byte header | u32 len | table | u32 len | row key,
// so a ciphertext moved to another row or table fails to open.
//
// Keys come from the KeyRing's `content` subkey of the record's key version.
// Functions are thread-safe; StreamSealer/StreamOpener objects are not.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>

#include "hiegate/common/result.hpp"
#include "hiegate/crypto/encoding.hpp"
#include "hiegate/crypto/keys.hpp"
#include "hiegate/crypto/secure_buffer.hpp"

namespace hiegate::crypto {

inline constexpr std::size_t kSealHeaderSize = 33;
inline constexpr std::size_t kSealOverhead = kSealHeaderSize + 16;
inline constexpr std::size_t kStreamChunk = 64 * 1024;
inline constexpr std::size_t kStreamChunkOverhead = 17;

/// The record's identity, bound as associated data. `key` is usually a keyed
/// identifier hash, never a clear identifier.
struct Binding {
  std::string_view table;
  ByteView key;
};

/// Seals with the active key version (or an explicit one present in `ring`).
[[nodiscard]] Bytes seal(const KeyRing& ring, const Binding& binding, ByteView plain);
[[nodiscard]] Bytes seal(const KeyRing& ring, std::uint32_t version, const Binding& binding, ByteView plain);

/// Opens a format-1 record. Errors: record_malformed (bad magic/format/size),
/// key_unavailable (version not in the ring), record_corrupt (authentication
/// failed: tampered, moved or wrong key).
[[nodiscard]] Result<Bytes> open(const KeyRing& ring, const Binding& binding, ByteView sealed);

/// Key version of a sealed record or stream header; nullopt if malformed.
[[nodiscard]] std::optional<std::uint32_t> sealed_key_version(ByteView sealed);

/// Room for libsodium's secretstream state.
inline constexpr std::size_t kStreamStateSize = 64;

/// Encrypts one stream: header() first, then push() each chunk in order.
class StreamSealer {
public:
  StreamSealer(const KeyRing& ring, std::uint32_t version, const Binding& binding);
  [[nodiscard]] const Bytes& header() const { return header_; }
  /// `plain.size() <= kStreamChunk`; `last` marks the final chunk (may be empty).
  [[nodiscard]] Bytes push(ByteView plain, bool last);

private:
  /// crypto_secretstream_xchacha20poly1305_state (52 bytes; checked in sealed.cpp).
  WipedArray<kStreamStateSize> state_;
  Bytes header_;
  Bytes ad_;
};

/// Decrypts one stream produced by StreamSealer, chunk by chunk.
class StreamOpener {
public:
  static Result<StreamOpener> start(const KeyRing& ring, const Binding& binding, ByteView header);
  /// Errors: record_corrupt (tampered, reordered, data after the final chunk).
  [[nodiscard]] Result<Bytes> pull(ByteView chunk);
  [[nodiscard]] bool finished() const { return finished_; }

private:
  StreamOpener() = default;
  WipedArray<kStreamStateSize> state_;
  Bytes ad_;
  bool finished_ = false;
};

/// Pull-style input: fills the span, returns bytes read, 0 at the end.
using Source = std::function<Result<std::size_t>(std::span<std::uint8_t>)>;
/// Push-style output.
using Sink = std::function<Status(ByteView)>;

/// Reads until `out` is full or the source ends; returns bytes read.
Result<std::size_t> read_full(const Source& in, std::span<std::uint8_t> out);

/// Seals everything from `in` as a self-contained byte stream to `out`
/// (header, then each chunk prefixed by its u32 length). Memory stays bounded
/// by a few chunks whatever the size.
Status seal_stream(const KeyRing& ring, const Binding& binding, const Source& in, const Sink& out);
/// Inverse of seal_stream; plaintext reaches `out` only chunk by chunk after
/// each chunk authenticated. A truncated stream is an error (record_corrupt).
Status open_stream(const KeyRing& ring, const Binding& binding, const Source& in, const Sink& out);

using IdHash = std::array<std::uint8_t, 32>;
/// Keyed BLAKE2b of an identifier (kind separates namespaces such as
/// "patient", "document", "user") with the identifier subkey of `version`.
[[nodiscard]] IdHash hash_identifier(const KeyRing& ring, std::uint32_t version, std::string_view kind,
                                     std::string_view id);

}  // namespace hiegate::crypto
