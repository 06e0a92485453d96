#include "hiegate/daemon/notify.hpp"

#include <gtest/gtest.h>

#include <cstdlib>

#include "support/notify_listener.hpp"
#include "support/temp_dir.hpp"

#include <atomic>
#include <boost/asio/post.hpp>
#include <future>
#include <thread>

namespace hiegate::daemon {
namespace {

using namespace std::chrono_literals;

// A long start (a store migration) asks systemd for more time, saying why.
TEST(Notifier, ExtendsTheTimeoutWithAStatus) {
  test::TempDir dir;
  test::NotifyListener listener(dir / "notify.sock");
  ::setenv("NOTIFY_SOCKET", (dir / "notify.sock").c_str(), 1);
  Notifier n;
  ASSERT_TRUE(n.enabled());
  n.extend_timeout(std::chrono::seconds(30), "upgrading\nthe store");  // sd_notify reads the variable now
  ::unsetenv("NOTIFY_SOCKET");
  const std::string m = listener.wait_for("EXTEND_TIMEOUT_USEC=", 2s);
  EXPECT_NE(m.find("EXTEND_TIMEOUT_USEC=30000000\n"), std::string::npos) << m;
  EXPECT_NE(m.find("STATUS=upgrading"), std::string::npos) << m;
  EXPECT_EQ(m.find("\nthe store"), std::string::npos) << "a status stays one line: " << m;
}

TEST(Watchdog, PingsWhileTheLoopRunsAndStopsWhenItIsStuck) {
  boost::asio::io_context ioc;
  std::atomic<int> pings{0};
  Watchdog wd(ioc, 20ms, [&] { ++pings; });
  wd.start();
  std::promise<void> unblock;
  std::atomic<int> at_block{-1};
  std::atomic<int> after_block{-1};
  std::thread loop([&] { ioc.run(); });

  std::this_thread::sleep_for(150ms);
  EXPECT_GT(pings.load(), 2);
  // Make the single loop thread stuck.
  boost::asio::post(ioc, [&, f = unblock.get_future().share()] {
    at_block = pings.load();
    f.wait();
  });
  std::this_thread::sleep_for(50ms);
  const int frozen = pings.load();
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(pings.load(), frozen) << "pings must stop while the loop is stuck";
  unblock.set_value();
  std::this_thread::sleep_for(150ms);
  EXPECT_GT(pings.load(), frozen) << "pings resume once the loop runs again";
  wd.stop();
  ioc.stop();
  loop.join();
}

TEST(Notifier, DisabledWithoutNotifySocket) {
  ::unsetenv("NOTIFY_SOCKET");
  Notifier n;
  EXPECT_FALSE(n.enabled());
  EXPECT_FALSE(n.watchdog_interval().has_value());
  n.ready("x");  // no-op, must not crash
}

}  // namespace
}  // namespace hiegate::daemon
