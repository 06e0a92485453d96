// A fake systemd notification socket: an AF_UNIX datagram socket whose path
// is passed to the daemon as NOTIFY_SOCKET; collects every message sent.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

namespace hiegate::test {

class NotifyListener {
public:
  explicit NotifyListener(std::filesystem::path path);
  ~NotifyListener();
  NotifyListener(const NotifyListener&) = delete;
  NotifyListener& operator=(const NotifyListener&) = delete;

  [[nodiscard]] std::string env() const { return "NOTIFY_SOCKET=" + path_.string(); }
  /// Waits until a received message contains `needle`; returns that message.
  std::string wait_for(const std::string& needle, std::chrono::milliseconds timeout);
  /// Every message received so far.
  const std::vector<std::string>& messages();

private:
  void drain(int timeout_ms);
  std::filesystem::path path_;
  int fd_ = -1;
  std::vector<std::string> messages_;
};

}  // namespace hiegate::test
