#include "hiegate/daemon/notify.hpp"

#include <systemd/sd-daemon.h>
#include <time.h>

#include <boost/asio/post.hpp>
#include <cstdlib>

namespace hiegate::daemon {

Notifier::Notifier() {
  const char* s = std::getenv("NOTIFY_SOCKET");
  enabled_ = s != nullptr && *s != '\0';
}

void Notifier::send(const std::string& msg) {
  if (enabled_) sd_notify(0, msg.c_str());
}

namespace {
std::string one_line(std::string_view s) {
  std::string out(s.substr(0, 200));
  for (char& c : out) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return out;
}
}  // namespace

void Notifier::ready(std::string_view status) { send("READY=1\nSTATUS=" + one_line(status)); }

void Notifier::reloading(std::string_view status) {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  const auto usec = static_cast<unsigned long long>(ts.tv_sec) * 1'000'000ULL +
                    static_cast<unsigned long long>(ts.tv_nsec) / 1000ULL;
  send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec) + "\nSTATUS=" + one_line(status));
}

void Notifier::stopping(std::string_view status) { send("STOPPING=1\nSTATUS=" + one_line(status)); }
void Notifier::status(std::string_view status) { send("STATUS=" + one_line(status)); }
void Notifier::extend_timeout(std::chrono::microseconds more, std::string_view status) {
  send("EXTEND_TIMEOUT_USEC=" + std::to_string(more.count()) + "\nSTATUS=" + one_line(status));
}
void Notifier::watchdog() { send("WATCHDOG=1"); }

std::optional<std::chrono::microseconds> Notifier::watchdog_interval() const {
  if (!enabled_) return std::nullopt;
  uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return std::nullopt;
  return std::chrono::microseconds(usec);
}

struct Watchdog::State : std::enable_shared_from_this<Watchdog::State> {
  State(boost::asio::io_context& c, std::chrono::microseconds i, std::function<void()> p)
      : ioc(c), timer(c), interval(i), ping(std::move(p)) {}
  boost::asio::io_context& ioc;
  boost::asio::steady_timer timer;
  std::chrono::microseconds interval;
  std::function<void()> ping;
  std::atomic<bool> stopped{false};

  void arm() {
    timer.expires_after(interval / 2);
    timer.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (ec || self->stopped) return;
      // The probe goes through the same queue as requests: it runs only if
      // a loop thread is free to run it.
      boost::asio::post(self->ioc, [self] {
        if (self->stopped) return;
        self->ping();
        self->arm();
      });
    });
  }
};

Watchdog::Watchdog(boost::asio::io_context& ioc, std::chrono::microseconds interval,
                   std::function<void()> ping)
    : state_(std::make_shared<State>(ioc, interval, std::move(ping))) {}

void Watchdog::start() { state_->arm(); }

void Watchdog::stop() {
  state_->stopped = true;
  boost::asio::post(state_->ioc, [s = state_] { s->timer.cancel(); });
}

}  // namespace hiegate::daemon
