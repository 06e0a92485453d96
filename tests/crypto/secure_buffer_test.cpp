#include "hiegate/crypto/secure_buffer.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include <utility>

namespace hiegate::crypto {
namespace {

TEST(SecureBuffer, ZeroedMoveOnlyAndEmptyAfterMove) {
  SecureBuffer a(32);
  ASSERT_EQ(a.size(), 32u);
  for (auto b : a.view()) EXPECT_EQ(b, 0);
  a.writable()[0] = 42;
  SecureBuffer b(std::move(a));
  EXPECT_EQ(a.size(), 0u);  // NOLINT(bugprone-use-after-move): moved-from state is specified
  EXPECT_EQ(a.data(), nullptr);
  EXPECT_EQ(b.data()[0], 42);
  SecureBuffer c(8);
  c = std::move(b);
  EXPECT_EQ(c.size(), 32u);
  EXPECT_EQ(c.data()[0], 42);
}

TEST(SecureBufferDeathTest, WriteToProtectedBufferFaults) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        SecureBuffer k(32);
        k.protect();
        volatile std::uint8_t* p = const_cast<std::uint8_t*>(k.data());
        p[0] = 1;
      },
      "");
  SecureBuffer k(32);
  k.protect();
  k.unprotect();
  k.writable()[0] = 1;  // writable again
  EXPECT_EQ(k.data()[0], 1);
}

TEST(WipedArray, StartsZeroedAndAMovedFromCopyIsWiped) {
  WipedArray<64> a;
  EXPECT_TRUE(std::all_of(a.data(), a.data() + 64, [](std::uint8_t b) { return b == 0; }));
  std::fill_n(a.data(), 64, std::uint8_t{0xA5});
  WipedArray<64> b(std::move(a));
  EXPECT_TRUE(std::all_of(b.data(), b.data() + 64, [](std::uint8_t x) { return x == 0xA5; }));
  EXPECT_TRUE(std::all_of(a.data(), a.data() + 64, [](std::uint8_t x) { return x == 0; }));  // NOLINT(bugprone-use-after-move)
  WipedArray<64> c;
  c = std::move(b);
  EXPECT_EQ(c.data()[63], 0xA5);
  EXPECT_EQ(b.data()[0], 0);  // NOLINT(bugprone-use-after-move)
}

}  // namespace
}  // namespace hiegate::crypto
