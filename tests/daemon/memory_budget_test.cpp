#include "hiegate/daemon/memory_budget.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace hiegate::daemon {
namespace {

TEST(MemoryBudget, HoldsUntilReleasedAndRefusesWhatDoesNotFit) {
  MemoryBudget b(100);
  auto a = b.try_hold(60);
  ASSERT_TRUE(a);
  EXPECT_EQ(b.in_use(), 60u);
  EXPECT_FALSE(b.try_hold(41));  // 101 > 100
  EXPECT_EQ(b.refused_total(), 1u);
  auto c = b.try_hold(40);  // exactly full
  ASSERT_TRUE(c);
  EXPECT_EQ(b.in_use(), 100u);
  EXPECT_TRUE(b.try_hold(0));  // nothing always fits
  a.reset();
  EXPECT_EQ(b.in_use(), 40u);
  EXPECT_TRUE(b.try_hold(60));  // released, and this one released at once
  EXPECT_EQ(b.in_use(), 40u);
  EXPECT_FALSE(b.try_hold(101));  // larger than the whole limit
  EXPECT_FALSE(b.try_hold(UINT64_MAX));  // no overflow
}

TEST(MemoryBudget, ALowerLimitKeepsWhatIsHeldAndRefusesNewHolds) {
  MemoryBudget b(100);
  auto a = b.try_hold(80);
  b.set_limit(50);
  EXPECT_EQ(b.limit(), 50u);
  EXPECT_EQ(b.in_use(), 80u);
  EXPECT_FALSE(b.try_hold(1));
  a.reset();
  EXPECT_TRUE(b.try_hold(50));
}

TEST(MemoryBudget, AHoldMayOutliveTheBudget) {
  MemoryBudget::Hold h;
  {
    MemoryBudget b(10);
    h = b.try_hold(10);
    ASSERT_TRUE(h);
  }
  h.reset();  // no use after free (the sanitizer run checks)
}

// Many threads taking and releasing holds never see more than the limit in
// use, and everything is released at the end.
TEST(MemoryBudget, ConcurrentHoldsNeverExceedTheLimit) {
  MemoryBudget b(1000);
  std::atomic<bool> over{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&b, &over, t] {
      for (int i = 0; i < 20000; ++i) {
        auto h = b.try_hold(static_cast<std::uint64_t>(100 + (i * 7 + t) % 300));
        if (b.in_use() > b.limit()) over = true;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_FALSE(over);
  EXPECT_EQ(b.in_use(), 0u);
}

}  // namespace
}  // namespace hiegate::daemon
