// The clock windows of orders: a maintenance stop delivered with not_before a
// few seconds ahead and not_after shortly after takes effect and lifts on
// time, with no further message from the secretariat.
#include <thread>

#include "e2e/e2e_kit.hpp"

namespace hiegate::test::e2e {
namespace {

using namespace std::chrono_literals;

/// Polls `gw`'s mode until it is `state` or `deadline` passes; returns the
/// system time it was first seen (nullopt if never).
std::optional<std::chrono::system_clock::time_point> seen_at(const Gateway& gw, const std::string& state,
                                                             std::chrono::system_clock::time_point deadline) {
  while (std::chrono::system_clock::now() < deadline) {
    if (mode_state(gw) == state) return std::chrono::system_clock::now();
    std::this_thread::sleep_for(50ms);
  }
  return std::nullopt;
}

TEST(OrderWindows, AMaintenanceStopStartsAndLiftsOnTimeWithoutANewMessage) {
  Secretariat sec;
  Gateway gw("", sec.config());
  gw.start();
  sec.deliver(gw, 1, json::array());
  ASSERT_NO_FATAL_FAILURE(add_user(gw, "clerk-1", "clerk"));
  ASSERT_EQ(mode_state(gw), "normal");

  // Windows on whole seconds (the orders' times have one-second precision).
  const Seconds from = now_s() + 3s;
  const Seconds until = from + 2s;
  json order = stop_order("2026-0077", json::array({gw.facility()}));
  order["not_before"] = rfc3339(from);
  order["not_after"] = rfc3339(until);
  sec.deliver(gw, 2, json::array({order}));

  // Before the window: the order is held, the gateway works.
  EXPECT_EQ(mode_state(gw), "normal");
  EXPECT_EQ(publish(gw, "before", "NT-0001", R"({"resourceType":"Bundle","type":"document"})").status, 200);

  const auto stopped = seen_at(gw, "stopped", from + 3s);
  ASSERT_TRUE(stopped) << "the window did not open\n" << gw.log();
  EXPECT_GE(*stopped, from);
  EXPECT_LT(*stopped, from + 1500ms);
  const auto refused = publish(gw, "during", "NT-0001", R"({"resourceType":"Bundle","type":"document"})");
  if (std::chrono::system_clock::now() < until - 200ms) {  // still inside the window
    EXPECT_EQ(refused.status, 503) << refused.body;
    EXPECT_EQ(error_code(refused), "network_stopped");
    EXPECT_EQ(json::parse(refused.body)["error"]["order"], "2026-0077");
  }

  const auto lifted = seen_at(gw, "normal", until + 3s);
  ASSERT_TRUE(lifted) << "the window did not close\n" << gw.log();
  EXPECT_GE(*lifted, until);
  EXPECT_LT(*lifted, until + 1500ms);
  EXPECT_EQ(publish(gw, "after", "NT-0001", R"({"resourceType":"Bundle","type":"document"})").status, 200);

  // Nothing new was delivered: the same orders set is held throughout.
  const auto status = json::parse(gw.get("/v1/status").body);
  EXPECT_EQ(status["directives"]["orders_sequence"], 2);
  EXPECT_EQ(gw.stop(), 0);
}

}  // namespace
}  // namespace hiegate::test::e2e
