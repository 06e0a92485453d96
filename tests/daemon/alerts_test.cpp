// Alerts: each condition is reported once when it starts and once when it ends.
#include <gtest/gtest.h>

#include "src/alerts.hpp"

namespace hiegate::daemon {
namespace {

TEST(Alerts, ReportsEachStartAndEndOnce) {
  Alerts a;
  EXPECT_FALSE(a.set("crl_stale", false));  // first seen off: nothing to clear
  EXPECT_FALSE(a.set("crl_stale", false));
  auto raised = a.set("crl_stale", true);
  ASSERT_TRUE(raised);
  EXPECT_EQ(raised->name, "crl_stale");
  EXPECT_TRUE(raised->raised);
  EXPECT_TRUE(a.raised("crl_stale"));
  EXPECT_FALSE(a.set("crl_stale", true));  // still on: not again
  auto cleared = a.set("crl_stale", false);
  ASSERT_TRUE(cleared);
  EXPECT_FALSE(cleared->raised);
  EXPECT_FALSE(a.raised("crl_stale"));
  // Conditions are independent; one first seen on is raised at once.
  auto stale = a.set("directives_stale", true);
  ASSERT_TRUE(stale);
  EXPECT_TRUE(stale->raised);
  EXPECT_FALSE(a.raised("crl_stale"));
}

}  // namespace
}  // namespace hiegate::daemon
