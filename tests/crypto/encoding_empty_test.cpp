#include <gtest/gtest.h>

#include "hiegate/crypto/encoding.hpp"

namespace hiegate::crypto {
namespace {

// Empty input is valid and decodes to nothing (and must not hand libsodium a
// null output buffer: found by fuzzing under UBSan).
TEST(EncodingEmpty, DecodesToEmpty) {
  ASSERT_TRUE(from_hex("").has_value());
  EXPECT_TRUE(from_hex("")->empty());
  ASSERT_TRUE(from_base64("").has_value());
  EXPECT_TRUE(from_base64("")->empty());
  EXPECT_EQ(to_base64({}), "");
  EXPECT_EQ(to_hex({}), "");
}

}  // namespace
}  // namespace hiegate::crypto
