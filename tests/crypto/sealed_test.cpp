#include "hiegate/crypto/sealed.hpp"

#include <gtest/gtest.h>

#include "support/peak_memory.hpp"

#include <cstring>

namespace hiegate::crypto {
namespace {

KeyRing ring_of(std::map<std::uint32_t, char> versions) {
  std::map<std::uint32_t, Bytes> raw;
  std::map<std::uint32_t, ByteView> views;
  for (auto [v, c] : versions) raw[v] = Bytes(kMasterKeySize, static_cast<std::uint8_t>(c));
  for (auto& [v, b] : raw) views[v] = b;
  return std::move(KeyRing::from_master_keys(views)).value();
}

const std::uint8_t kRow1[] = {1, 2, 3};
const std::uint8_t kRow2[] = {1, 2, 4};

TEST(Sealed, RoundTripAndBinding) {
  const auto ring = ring_of({{1, 'a'}});
  const Binding b{"documents", kRow1};
  const std::string text = "山田太郎 patient 12345";
  const Bytes s = seal(ring, b, as_bytes(text));
  EXPECT_EQ(s.size(), text.size() + kSealOverhead);
  EXPECT_EQ(std::search(s.begin(), s.end(), text.begin(), text.end()), s.end());
  auto p = open(ring, b, s);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(std::string(p->begin(), p->end()), text);
  EXPECT_EQ(sealed_key_version(s), 1u);

  auto other_row = open(ring, Binding{"documents", kRow2}, s);
  ASSERT_FALSE(other_row.ok());
  EXPECT_EQ(other_row.error().code, "record_corrupt");
  EXPECT_FALSE(open(ring, Binding{"consents", kRow1}, s).ok());
  for (std::size_t i = 0; i < s.size(); i += 7) {
    Bytes t = s;
    t[i] ^= 0x40;
    EXPECT_FALSE(open(ring, b, t).ok()) << "flip at " << i;
  }
  EXPECT_EQ(open(ring, b, ByteView(s).first(20)).error().code, "record_malformed");
}

TEST(Sealed, WrongKeyAndMissingVersion) {
  const auto r1 = ring_of({{1, 'a'}});
  const auto other = ring_of({{1, 'b'}});
  const auto r2 = ring_of({{2, 'a'}});
  const Binding b{"t", kRow1};
  const Bytes s = seal(r1, b, as_bytes("x"));
  EXPECT_EQ(open(other, b, s).error().code, "record_corrupt");
  EXPECT_EQ(open(r2, b, s).error().code, "key_unavailable");
  const auto both = ring_of({{1, 'a'}, {2, 'c'}});
  EXPECT_EQ(sealed_key_version(seal(both, b, as_bytes("x"))), 2u);
  EXPECT_TRUE(open(both, b, s).ok());
}

TEST(Sealed, IdentifierHashIsKeyedAndNamespaced) {
  const auto r = ring_of({{1, 'a'}, {2, 'b'}});
  EXPECT_EQ(hash_identifier(r, 1, "patient", "P1"), hash_identifier(r, 1, "patient", "P1"));
  EXPECT_NE(hash_identifier(r, 1, "patient", "P1"), hash_identifier(r, 2, "patient", "P1"));
  EXPECT_NE(hash_identifier(r, 1, "patient", "P1"), hash_identifier(r, 1, "document", "P1"));
  EXPECT_NE(hash_identifier(r, 1, "patient", "P1"), hash_identifier(r, 1, "patient", "P2"));
}

// A deterministic generator standing in for a large document.
struct Pattern {
  std::size_t total;
  std::size_t pos = 0;
  Result<std::size_t> operator()(std::span<std::uint8_t> out) {
    const std::size_t n = std::min(out.size(), total - pos);
    for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<std::uint8_t>((pos + i) * 31 + (pos + i) / 4096);
    pos += n;
    return n;
  }
};

TEST(SealedStream, SixtyFourMebibytesInBoundedMemory) {
  const auto ring = ring_of({{1, 'a'}});
  const Binding b{"documents.content", kRow1};
  constexpr std::size_t kSize = 64u << 20;
  // The sealed stream goes to a temp file, not memory.
  FILE* tmp = std::tmpfile();
  ASSERT_NE(tmp, nullptr);
  const long before = test::peak_rss_kib();
  Pattern src{kSize};
  ASSERT_TRUE(seal_stream(ring, b, Source(std::ref(src)), [&](ByteView d) -> Status {
                if (std::fwrite(d.data(), 1, d.size(), tmp) != d.size()) return make_error("io", "write");
                return {};
              }).ok());
  std::rewind(tmp);
  Pattern expect{kSize};
  std::size_t seen = 0;
  Bytes want;
  const auto st = open_stream(
      ring, b,
      [&](std::span<std::uint8_t> out) -> Result<std::size_t> { return std::fread(out.data(), 1, out.size(), tmp); },
      [&](ByteView d) -> Status {
        want.resize(d.size());
        (void)expect(want);
        if (std::memcmp(want.data(), d.data(), d.size()) != 0) return make_error("mismatch", "content differs");
        seen += d.size();
        return {};
      });
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_EQ(seen, kSize);
  const long grown_kib = test::peak_rss_kib() - before;
  if (test::kPeakRssMeaningful) {
    EXPECT_LT(grown_kib, 8 * 1024) << "peak RSS grew by " << grown_kib << " KiB for a 64 MiB stream";
  }

  // Truncation (dropping the final chunk) is detected.
  std::fflush(tmp);
  const long full = std::ftell(tmp);
  std::rewind(tmp);
  long left = full - 100;
  const auto trunc = open_stream(
      ring, b,
      [&](std::span<std::uint8_t> out) -> Result<std::size_t> {
        const std::size_t n = std::fread(out.data(), 1, std::min<long>(static_cast<long>(out.size()), left), tmp);
        left -= static_cast<long>(n);
        return n;
      },
      [](ByteView) -> Status { return {}; });
  ASSERT_FALSE(trunc.ok());
  EXPECT_EQ(trunc.error().code, "record_corrupt");
  std::fclose(tmp);
}

TEST(SealedStream, ChunkReorderDetected) {
  const auto ring = ring_of({{1, 'a'}});
  const Binding b{"c", kRow1};
  StreamSealer s(ring, 1, b);
  const Bytes a = s.push(as_bytes("first"), false);
  const Bytes z = s.push(as_bytes("second"), true);
  auto o = StreamOpener::start(ring, b, s.header());
  ASSERT_TRUE(o.ok());
  EXPECT_FALSE(o->pull(z).ok());
  auto o2 = StreamOpener::start(ring, Binding{"c", kRow2}, s.header());
  ASSERT_TRUE(o2.ok());
  EXPECT_FALSE(o2->pull(a).ok());
  auto o3 = StreamOpener::start(ring, b, s.header());
  ASSERT_TRUE(o3->pull(a).ok());
  ASSERT_TRUE(o3->pull(z).ok());
  EXPECT_TRUE(o3->finished());
}

}  // namespace
}  // namespace hiegate::crypto
