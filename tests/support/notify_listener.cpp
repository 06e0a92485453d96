#include "support/notify_listener.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>

namespace hiegate::test {

NotifyListener::NotifyListener(std::filesystem::path path) : path_(std::move(path)) {
  fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::strncpy(sa.sun_path, path_.c_str(), sizeof(sa.sun_path) - 1);
  if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    throw std::runtime_error("cannot bind notify socket " + path_.string());
  }
}

NotifyListener::~NotifyListener() {
  if (fd_ >= 0) ::close(fd_);
  ::unlink(path_.c_str());
}

void NotifyListener::drain(int timeout_ms) {
  pollfd p{fd_, POLLIN, 0};
  while (::poll(&p, 1, timeout_ms) > 0) {
    char buf[4096];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) break;
    messages_.emplace_back(buf, static_cast<std::size_t>(n));
    timeout_ms = 0;
  }
}

const std::vector<std::string>& NotifyListener::messages() {
  drain(0);
  return messages_;
}

std::string NotifyListener::wait_for(const std::string& needle, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::size_t seen = 0;
  for (;;) {
    for (; seen < messages_.size(); ++seen) {
      if (messages_[seen].find(needle) != std::string::npos) return messages_[seen];
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return {};
    drain(static_cast<int>(std::min<long>(left.count(), 50)));
  }
}

}  // namespace hiegate::test
