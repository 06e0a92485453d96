// systemd service notification (sd_notify) and the watchdog.
//
// Outside systemd (no NOTIFY_SOCKET) every call is a cheap no-op.
// Thread-safe.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace hiegate::daemon {

class Notifier {
public:
  Notifier();
  [[nodiscard]] bool enabled() const { return enabled_; }

  void ready(std::string_view status);
  /// RELOADING=1 with MONOTONIC_USEC, as Type=notify-reload expects.
  void reloading(std::string_view status);
  void stopping(std::string_view status);
  void status(std::string_view status);
  /// EXTEND_TIMEOUT_USEC: the start (or stop) in progress needs `more`
  /// from now, with `status` saying why.
  void extend_timeout(std::chrono::microseconds more, std::string_view status);
  void watchdog();
  /// From WATCHDOG_USEC (when WATCHDOG_PID is absent or ours).
  [[nodiscard]] std::optional<std::chrono::microseconds> watchdog_interval() const;

private:
  void send(const std::string& msg);
  bool enabled_ = false;
};

/// Pings from the event loop: a timer fires every interval/2 and posts a probe
/// through the io_context; the ping is sent only when the probe runs, so a
/// loop whose threads are all stuck stops pinging and systemd restarts the
/// service.
class Watchdog {
public:
  Watchdog(boost::asio::io_context& ioc, std::chrono::microseconds interval,
           std::function<void()> ping);
  void start();
  void stop();

private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace hiegate::daemon
