// parse_pull_url and the pull schedule (interval, bounded jittered backoff).
#include <gtest/gtest.h>

#include "hiegate/daemon/directive_pull.hpp"

namespace hiegate::daemon {
namespace {

using namespace std::chrono_literals;

TEST(PullUrl, AcceptsHostsPortsAndTargets) {
  auto u = parse_pull_url("https://orders.nishitama.example.jp/peer/v1/orders?x=1");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "orders.nishitama.example.jp");
  EXPECT_EQ(u->port, 443);
  EXPECT_EQ(u->target, "/peer/v1/orders?x=1");
  u = parse_pull_url("https://127.0.0.1:8471");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "127.0.0.1");
  EXPECT_EQ(u->port, 8471);
  EXPECT_EQ(u->target, "/");
  u = parse_pull_url("https://[::1]:9000/o");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->port, 9000);
}

TEST(PullUrl, RefusesWhatIsNotAPlainHttpsUrl) {
  for (const char* bad : {"http://x/o", "https://", "https://:443/o", "https://x:0/", "https://x:65536/",
                          "https://x:/o", "https://x:12a/", "https://user@x/o", "https://x/o#f", "https://x y/",
                          "https://[::1/o", "https://[::1]x/", "https://ex_ample/"}) {
    const auto u = parse_pull_url(bad);
    ASSERT_FALSE(u) << bad;
    EXPECT_EQ(u.error().code, "bad_pull_url") << bad;
  }
}

TEST(PullSchedule, IntervalAfterSuccessBoundedBackoffAfterFailures) {
  const PullSchedule s{300s, 5s};
  EXPECT_EQ(next_pull_delay(s, 0, 1.0), 300s);
  EXPECT_EQ(next_pull_delay(s, 1, 1.0), 5s);
  EXPECT_EQ(next_pull_delay(s, 2, 1.0), 10s);
  EXPECT_EQ(next_pull_delay(s, 4, 1.0), 40s);
  EXPECT_EQ(next_pull_delay(s, 7, 1.0), 300s);  // 320 s capped
  EXPECT_EQ(next_pull_delay(s, 1000, 1.0), 300s);
  EXPECT_EQ(next_pull_delay(s, 1, 0.5), 2500ms);
  EXPECT_EQ(next_pull_delay(s, 1, 0.1), 2500ms);  // jitter clamped to [0.5, 1]
  EXPECT_EQ(next_pull_delay(s, 1, 7.0), 5s);
}

}  // namespace
}  // namespace hiegate::daemon
