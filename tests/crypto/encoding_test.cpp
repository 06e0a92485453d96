#include "hiegate/crypto/encoding.hpp"
#include "hiegate/crypto/primitives.hpp"

#include <gtest/gtest.h>

namespace hiegate::crypto {
namespace {

TEST(Encoding, HexRoundTrip) {
  const Bytes data{0x00, 0x01, 0xab, 0xff};
  EXPECT_EQ(to_hex(data), "0001abff");
  EXPECT_EQ(from_hex("0001abff"), data);
  EXPECT_EQ(from_hex("0001ABFF"), data);
}

TEST(Encoding, HexRejectsBadInput) {
  EXPECT_FALSE(from_hex("abc"));
  EXPECT_FALSE(from_hex("zz"));
  EXPECT_FALSE(from_hex("ab cd"));
}

TEST(Encoding, Base64Strict) {
  EXPECT_EQ(to_base64(as_bytes("hie")), "aGll");
  EXPECT_EQ(to_base64(as_bytes("hi")), "aGk=");
  ASSERT_TRUE(from_base64("aGk="));
  EXPECT_EQ(*from_base64("aGk="), (Bytes{'h', 'i'}));
  EXPECT_FALSE(from_base64("aGk"));      // missing padding
  EXPECT_FALSE(from_base64("aG k="));    // whitespace
  EXPECT_FALSE(from_base64("aGl="));     // non-canonical trailing bits
  EXPECT_FALSE(from_base64("-_8="));     // URL-safe alphabet
  EXPECT_FALSE(from_base64("aGk=\n"));
  EXPECT_EQ(from_base64(""), Bytes{});
}

TEST(Primitives, Sha256KnownAnswer) {
  EXPECT_EQ(to_hex(sha256(std::string_view("abc"))),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Primitives, ConstantTimeEqual) {
  const Bytes a{1, 2, 3}, b{1, 2, 3}, c{1, 2, 4}, d{1, 2};
  EXPECT_TRUE(equal_constant_time(a, b));
  EXPECT_FALSE(equal_constant_time(a, c));
  EXPECT_FALSE(equal_constant_time(a, d));
}

}  // namespace
}  // namespace hiegate::crypto
