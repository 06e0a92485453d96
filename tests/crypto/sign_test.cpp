#include "hiegate/crypto/sign.hpp"

#include <gtest/gtest.h>

#include <string>

namespace hiegate::crypto {
namespace {

Bytes hex(std::string_view h) { return from_hex(h).value(); }

// RFC 8032 section 7.1, TEST 1 (empty message).
constexpr std::string_view kSeed =
    "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
constexpr std::string_view kPub =
    "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
constexpr std::string_view kSig =
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b4"
    "6b"
    "d25bf5f0595bbe24655141438e7a100b";

TEST(Ed25519, Rfc8032Vector) {
  auto pair = ed25519_from_seed(hex(kSeed));
  ASSERT_TRUE(pair.ok());
  EXPECT_EQ(to_hex(pair->public_key), kPub);
  const Ed25519Signature sig = ed25519_sign(pair->secret_key, {});
  EXPECT_EQ(to_hex(sig), kSig);
  EXPECT_TRUE(ed25519_verify(hex(kPub), {}, hex(kSig)));
  EXPECT_EQ(to_hex(pair->secret_key.seed()), kSeed);
}

TEST(Ed25519, GenerateSignVerify) {
  auto pair = ed25519_generate();
  ASSERT_TRUE(pair.ok());
  const std::string msg = "DSSEv1 4 type 4 body";
  const Ed25519Signature sig = ed25519_sign(pair->secret_key, as_bytes(msg));
  EXPECT_TRUE(ed25519_verify(pair->public_key, as_bytes(msg), sig));
  EXPECT_FALSE(ed25519_verify(pair->public_key, as_bytes("DSSEv1 4 type 4 bodz"), sig));
  Ed25519Signature flipped = sig;
  flipped[10] ^= 0x01;
  EXPECT_FALSE(ed25519_verify(pair->public_key, as_bytes(msg), flipped));
  // Wrong sizes never verify.
  EXPECT_FALSE(ed25519_verify(pair->public_key, as_bytes(msg), ByteView(sig).first(63)));
  EXPECT_FALSE(ed25519_verify(ByteView(pair->public_key).first(31), as_bytes(msg), sig));
}

TEST(Ed25519, MovedKeyIsEmpty) {
  auto pair = ed25519_generate();
  ASSERT_TRUE(pair.ok());
  Ed25519SecretKey moved = std::move(pair->secret_key);
  EXPECT_TRUE(pair->secret_key.empty());  // NOLINT(bugprone-use-after-move): the contract
  EXPECT_FALSE(moved.empty());
  EXPECT_EQ(moved.seed().size(), kEd25519SeedSize);
}

TEST(Ed25519, RejectsNonCanonicalS) {
  auto pair = ed25519_from_seed(hex(kSeed));
  ASSERT_TRUE(pair.ok());
  Bytes sig = hex(kSig);
  // S + L (little-endian) is the same scalar mod L but not canonical.
  const Bytes l = hex("edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010");
  unsigned carry = 0;
  for (std::size_t i = 0; i < 32; ++i) {
    const unsigned v = sig[32 + i] + l[i] + carry;
    sig[32 + i] = static_cast<std::uint8_t>(v & 0xff);
    carry = v >> 8;
  }
  ASSERT_EQ(carry, 0U);
  EXPECT_FALSE(ed25519_verify(hex(kPub), {}, sig));
}

TEST(Ed25519, SmallOrderAndZeroKeysAreInvalid) {
  EXPECT_TRUE(ed25519_is_valid_public_key(hex(kPub)));
  // All-zero (order 4), identity (order 1) and a point of order 8.
  for (std::string_view bad : {
           "0000000000000000000000000000000000000000000000000000000000000000",
           "0100000000000000000000000000000000000000000000000000000000000000",
           "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
           "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
       }) {
    EXPECT_FALSE(ed25519_is_valid_public_key(hex(bad))) << bad;
    EXPECT_FALSE(ed25519_verify(hex(bad), {}, hex(kSig))) << bad;
  }
  EXPECT_FALSE(ed25519_is_valid_public_key(Bytes(33, 1)));
}

}  // namespace
}  // namespace hiegate::crypto
