// Fuzz target for the sealed-record opener (crypto/sealed.hpp), with a fixed
// test key (version 1) and a fixed binding. The first byte picks the mode:
//   0  open() of a format-1 record
//   1  open_stream() of a sealed byte stream
//   2  round trip: the rest is a plaintext sealed, opened, then tampered
//   3  StreamOpener driven by hand: a header, then the rest as one chunk
// Contract checked: no crash or sanitizer report; nothing opens unless it was
// sealed with this key for this binding (an opened record also opens under
// no other binding and with no byte changed); errors carry the documented
// codes; a round trip gives back the plaintext.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <span>
#include <string_view>
#include <utility>

#include "hiegate/crypto/sealed.hpp"

namespace {

using namespace hiegate::crypto;

KeyRing test_ring(ByteView master) {
  std::map<std::uint32_t, ByteView> m;
  m.emplace(1U, master);
  auto r = KeyRing::from_master_keys(m);
  if (!r.ok()) std::abort();
  return std::move(r).value();
}

struct Keys {
  Bytes master = Bytes(kMasterKeySize, 0x5a);
  KeyRing ring = test_ring(master);
  Bytes row = Bytes(32, 0x42);
  Binding binding{"documents", row};
  Binding other{"consents", row};
};

const Keys& keys() {
  static const Keys k;
  return k;
}

void require(bool ok) {
  if (!ok) std::abort();
}

bool known_code(const hiegate::Error& e) {
  return e.code == "record_malformed" || e.code == "record_corrupt" || e.code == "key_unavailable";
}

Source source_of(ByteView data) {
  auto pos = std::make_shared<std::size_t>(0);
  return [data, pos](std::span<std::uint8_t> out) -> hiegate::Result<std::size_t> {
    const std::size_t n = std::min(out.size(), data.size() - *pos);
    std::copy_n(data.data() + *pos, n, out.data());
    *pos += n;
    return n;
  };
}

hiegate::Status open_all(const Binding& b, ByteView sealed, Bytes& plain) {
  return open_stream(keys().ring, b, source_of(sealed), [&plain](ByteView chunk) -> hiegate::Status {
    plain.insert(plain.end(), chunk.begin(), chunk.end());
    return {};
  });
}

/// An opened record must be refused when moved or changed at `pos`.
void check_bound(ByteView sealed, std::size_t pos, bool stream) {
  Bytes tampered(sealed.begin(), sealed.end());
  tampered[pos % tampered.size()] ^= 0x01;
  Bytes sink;
  if (stream) {
    require(!open_all(keys().other, sealed, sink));
    require(!open_all(keys().binding, tampered, sink));
    require(!open_all(keys().binding, ByteView(sealed).first(sealed.size() - 1), sink));
  } else {
    require(!open(keys().ring, keys().other, sealed).ok());
    auto r = open(keys().ring, keys().binding, tampered);
    require(!r.ok() && known_code(r.error()));
  }
}

void fuzz_open(ByteView in) {
  auto r = open(keys().ring, keys().binding, in);
  if (!r.ok()) return require(known_code(r.error()));
  require(r->size() + kSealOverhead == in.size());
  require(sealed_key_version(in) == 1U);
  check_bound(in, in.size() - 1, false);
}

void fuzz_stream(ByteView in) {
  Bytes plain;
  auto st = open_all(keys().binding, in, plain);
  if (!st) return require(known_code(st.error()));
  check_bound(in, in.size() - 1, true);
}

void fuzz_round_trip(ByteView in) {
  const std::size_t pos = in.empty() ? 0 : in[0];
  const ByteView plain = in.empty() ? in : in.subspan(1);
  const Bytes sealed = seal(keys().ring, keys().binding, plain);
  auto opened = open(keys().ring, keys().binding, sealed);
  require(opened.ok() && Bytes(plain.begin(), plain.end()) == *opened);
  check_bound(sealed, pos, false);

  Bytes streamed;
  require(seal_stream(keys().ring, keys().binding, source_of(plain), [&streamed](ByteView c) -> hiegate::Status {
            streamed.insert(streamed.end(), c.begin(), c.end());
            return {};
          }).ok());
  Bytes back;
  require(open_all(keys().binding, streamed, back).ok() && back == Bytes(plain.begin(), plain.end()));
  check_bound(streamed, pos * 7919U, true);
}

void fuzz_stream_opener(ByteView in) {
  if (in.size() < kSealHeaderSize) {
    require(!StreamOpener::start(keys().ring, keys().binding, in).ok());
    return;
  }
  auto opener = StreamOpener::start(keys().ring, keys().binding, in.first(kSealHeaderSize));
  if (!opener.ok()) return require(known_code(opener.error()));
  auto chunk = opener->pull(in.subspan(kSealHeaderSize));
  if (!chunk.ok()) return require(known_code(chunk.error()));
  // Only a real final chunk of this stream authenticates; nothing may follow.
  if (opener->finished()) require(!opener->pull(in.subspan(kSealHeaderSize)).ok());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const ByteView in(data + 1, size - 1);
  switch (data[0] % 4) {
    case 0: fuzz_open(in); break;
    case 1: fuzz_stream(in); break;
    case 2: fuzz_round_trip(in); break;
    default: fuzz_stream_opener(in); break;
  }
  return 0;
}
