#include "hiegate/crypto/sealed.hpp"

#include <sodium.h>

#include <cstring>

#include "hiegate/crypto/primitives.hpp"

namespace hiegate::crypto {
namespace {

constexpr std::uint8_t kMagic[4] = {'H', 'G', 'S', 'R'};
constexpr std::uint8_t kFormatAead = 1;
constexpr std::uint8_t kFormatStream = 2;
using StreamState = crypto_secretstream_xchacha20poly1305_state;
static_assert(sizeof(StreamState) <= kStreamStateSize && alignof(StreamState) <= 16);
static_assert(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES == 24);
static_assert(crypto_secretstream_xchacha20poly1305_HEADERBYTES == 24);
static_assert(crypto_aead_xchacha20poly1305_ietf_ABYTES + kSealHeaderSize == kSealOverhead);
static_assert(crypto_secretstream_xchacha20poly1305_ABYTES == kStreamChunkOverhead);

void put_u32(Bytes& out, std::uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<std::uint8_t>(v >> s));
}

std::uint32_t get_u32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}

void put_header_prefix(Bytes& out, std::uint8_t format, std::uint32_t version) {
  out.insert(out.end(), kMagic, kMagic + 4);
  out.push_back(format);
  put_u32(out, version);
}

Bytes header_prefix(std::uint8_t format, std::uint32_t version) {
  Bytes h;
  put_header_prefix(h, format, version);
  return h;
}

// Nonces: 24 random bytes from the per-thread pool (pooled_random_bytes).
void take_nonce(std::uint8_t* out) { pooled_random_bytes(std::span<std::uint8_t>(out, 24)); }

Bytes associated_data(ByteView header, const Binding& b) {
  Bytes ad(header.begin(), header.end());
  put_u32(ad, static_cast<std::uint32_t>(b.table.size()));
  ad.insert(ad.end(), b.table.begin(), b.table.end());
  put_u32(ad, static_cast<std::uint32_t>(b.key.size()));
  ad.insert(ad.end(), b.key.begin(), b.key.end());
  return ad;
}

// Checks magic/format; returns the key version.
Result<std::uint32_t> parse_header(ByteView h, std::uint8_t format, const KeyRing& ring) {
  if (h.size() < kSealHeaderSize || std::memcmp(h.data(), kMagic, 4) != 0 || h[4] != format) {
    return make_error("record_malformed", "not a sealed record of the expected format");
  }
  const std::uint32_t version = get_u32(h.data() + 5);
  if (!ring.has(version)) {
    return make_error("key_unavailable", "record sealed with key version " + std::to_string(version) +
                                             ", which is not loaded");
  }
  return version;
}

Error corrupt() { return make_error("record_corrupt", "sealed record failed authentication"); }

}  // namespace

Bytes seal(const KeyRing& ring, const Binding& binding, ByteView plain) {
  return seal(ring, ring.active_version(), binding, plain);
}

Bytes seal(const KeyRing& ring, std::uint32_t version, const Binding& binding, ByteView plain) {
  Bytes out;
  out.reserve(kSealHeaderSize + plain.size() + crypto_aead_xchacha20poly1305_ietf_ABYTES);
  put_header_prefix(out, kFormatAead, version);
  out.resize(kSealHeaderSize);
  take_nonce(out.data() + 9);
  const Bytes ad = associated_data(out, binding);
  out.resize(kSealHeaderSize + plain.size() + crypto_aead_xchacha20poly1305_ietf_ABYTES);
  unsigned long long clen = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(out.data() + kSealHeaderSize, &clen, plain.data(), plain.size(),
                                             ad.data(), ad.size(), nullptr, out.data() + 9,
                                             ring.subkey(version, KeyPurpose::content).data());
  return out;
}

Result<Bytes> open(const KeyRing& ring, const Binding& binding, ByteView sealed) {
  auto version = parse_header(sealed, kFormatAead, ring);
  if (!version) return std::move(version).error();
  if (sealed.size() < kSealOverhead) return make_error("record_malformed", "sealed record is truncated");
  const Bytes ad = associated_data(sealed.first(kSealHeaderSize), binding);
  Bytes plain(sealed.size() - kSealOverhead);
  unsigned long long plen = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(plain.data(), &plen, nullptr, sealed.data() + kSealHeaderSize,
                                                 sealed.size() - kSealHeaderSize, ad.data(), ad.size(),
                                                 sealed.data() + 9,
                                                 ring.subkey(*version, KeyPurpose::content).data()) != 0) {
    return corrupt();
  }
  return plain;
}

std::optional<std::uint32_t> sealed_key_version(ByteView sealed) {
  if (sealed.size() < kSealHeaderSize || std::memcmp(sealed.data(), kMagic, 4) != 0 ||
      (sealed[4] != kFormatAead && sealed[4] != kFormatStream)) {
    return std::nullopt;
  }
  return get_u32(sealed.data() + 5);
}

StreamSealer::StreamSealer(const KeyRing& ring, std::uint32_t version, const Binding& binding)
    : header_(header_prefix(kFormatStream, version)) {
  header_.resize(kSealHeaderSize);
  crypto_secretstream_xchacha20poly1305_init_push(reinterpret_cast<StreamState*>(state_.data()),
                                                  header_.data() + 9,
                                                  ring.subkey(version, KeyPurpose::content).data());
  ad_ = associated_data(header_, binding);
}

Bytes StreamSealer::push(ByteView plain, bool last) {
  Bytes out(plain.size() + kStreamChunkOverhead);
  crypto_secretstream_xchacha20poly1305_push(
      reinterpret_cast<StreamState*>(state_.data()), out.data(), nullptr, plain.data(), plain.size(),
      ad_.data(), ad_.size(),
      last ? crypto_secretstream_xchacha20poly1305_TAG_FINAL : crypto_secretstream_xchacha20poly1305_TAG_MESSAGE);
  return out;
}

Result<StreamOpener> StreamOpener::start(const KeyRing& ring, const Binding& binding, ByteView header) {
  auto version = parse_header(header, kFormatStream, ring);
  if (!version) return std::move(version).error();
  if (header.size() != kSealHeaderSize) return make_error("record_malformed", "bad stream header size");
  StreamOpener o;
  if (crypto_secretstream_xchacha20poly1305_init_pull(reinterpret_cast<StreamState*>(o.state_.data()),
                                                      header.data() + 9,
                                                      ring.subkey(*version, KeyPurpose::content).data()) != 0) {
    return corrupt();
  }
  o.ad_ = associated_data(header, binding);
  return o;
}

Result<Bytes> StreamOpener::pull(ByteView chunk) {
  if (finished_ || chunk.size() < kStreamChunkOverhead || chunk.size() > kStreamChunk + kStreamChunkOverhead) {
    return corrupt();
  }
  Bytes out(chunk.size() - kStreamChunkOverhead);
  unsigned char tag = 0;
  if (crypto_secretstream_xchacha20poly1305_pull(reinterpret_cast<StreamState*>(state_.data()),
                                                 out.data(), nullptr, &tag, chunk.data(), chunk.size(), ad_.data(),
                                                 ad_.size()) != 0) {
    return corrupt();
  }
  if (tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL) finished_ = true;
  else if (tag != crypto_secretstream_xchacha20poly1305_TAG_MESSAGE) return corrupt();
  return out;
}

Result<std::size_t> read_full(const Source& in, std::span<std::uint8_t> out) {
  std::size_t got = 0;
  while (got < out.size()) {
    auto n = in(out.subspan(got));
    if (!n) return std::move(n).error();
    if (*n == 0) break;
    got += *n;
  }
  return got;
}

Status seal_stream(const KeyRing& ring, const Binding& binding, const Source& in, const Sink& out) {
  StreamSealer sealer(ring, ring.active_version(), binding);
  if (auto s = out(sealer.header()); !s) return s;
  // Read one chunk ahead so that the last chunk can carry the FINAL tag.
  Bytes cur(kStreamChunk), next(kStreamChunk);
  auto n = read_full(in, cur);
  if (!n) return std::move(n).error();
  std::size_t cur_len = *n;
  for (;;) {
    std::size_t next_len = 0;
    if (cur_len == kStreamChunk) {
      auto m = read_full(in, next);
      if (!m) return std::move(m).error();
      next_len = *m;
    }
    const bool last = cur_len < kStreamChunk || next_len == 0;
    const Bytes c = sealer.push(ByteView(cur).first(cur_len), last);
    Bytes frame;
    put_u32(frame, static_cast<std::uint32_t>(c.size()));
    if (auto s = out(frame); !s) return s;
    if (auto s = out(c); !s) return s;
    if (last) return {};
    cur.swap(next);
    cur_len = next_len;
  }
}

Status open_stream(const KeyRing& ring, const Binding& binding, const Source& in, const Sink& out) {
  Bytes header(kSealHeaderSize);
  auto n = read_full(in, header);
  if (!n) return std::move(n).error();
  if (*n != kSealHeaderSize) return make_error("record_malformed", "sealed stream is truncated");
  auto opener = StreamOpener::start(ring, binding, header);
  if (!opener) return std::move(opener).error();
  Bytes chunk(kStreamChunk + kStreamChunkOverhead);
  while (!opener->finished()) {
    std::uint8_t len_buf[4];
    auto l = read_full(in, len_buf);
    if (!l) return std::move(l).error();
    if (*l != 4) return corrupt();
    const std::uint32_t len = get_u32(len_buf);
    if (len < kStreamChunkOverhead || len > chunk.size()) return corrupt();
    auto m = read_full(in, std::span(chunk).first(len));
    if (!m) return std::move(m).error();
    if (*m != len) return corrupt();
    auto plain = opener->pull(ByteView(chunk).first(len));
    if (!plain) return std::move(plain).error();
    if (auto s = out(*plain); !s) return s;
  }
  std::uint8_t extra = 0;
  auto e = in(std::span(&extra, 1));
  if (!e) return std::move(e).error();
  if (*e != 0) return corrupt();
  return {};
}

IdHash hash_identifier(const KeyRing& ring, std::uint32_t version, std::string_view kind, std::string_view id) {
  IdHash out{};
  const auto key = ring.subkey(version, KeyPurpose::identifier);
  crypto_generichash_state st;
  crypto_generichash_init(&st, key.data(), key.size(), out.size());
  crypto_generichash_update(&st, reinterpret_cast<const unsigned char*>(kind.data()), kind.size());
  const unsigned char sep = 0;
  crypto_generichash_update(&st, &sep, 1);
  crypto_generichash_update(&st, reinterpret_cast<const unsigned char*>(id.data()), id.size());
  crypto_generichash_final(&st, out.data(), out.size());
  sodium_memzero(&st, sizeof st);
  return out;
}

}  // namespace hiegate::crypto
