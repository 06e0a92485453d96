// Child processes for black-box tests of the real binaries.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace hiegate::test {

/// Path of a built binary ("hiegated", "hiegatectl", "hiegate-secretariat").
std::filesystem::path binary(const std::string& name);

class Child {
public:
  /// Starts argv[0] with argv, extra environment entries ("K=V") added to the
  /// current environment, stdout+stderr appended to `log_file`.
  Child(const std::vector<std::string>& argv, const std::vector<std::string>& env,
        const std::filesystem::path& log_file);
  ~Child();  ///< SIGKILLs and reaps a child still running
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  [[nodiscard]] pid_t pid() const { return pid_; }
  void signal(int sig) const;
  /// Exit status (or 128+signal) if the child ended within `timeout`.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  [[nodiscard]] bool running();

private:
  pid_t pid_ = -1;
  std::optional<int> status_;
};

/// Result of running a command to completion.
struct RunResult {
  int status = -1;
  std::string output;  ///< stdout and stderr, interleaved
};
RunResult run(const std::vector<std::string>& argv, const std::vector<std::string>& env = {},
              std::chrono::milliseconds timeout = std::chrono::seconds(60));

/// A free loopback TCP port (bound once and released; for ports that must be
/// known before a server starts).
std::uint16_t free_port();

/// Polls `pred` every 10 ms until it is true or `timeout` passes.
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds timeout = std::chrono::seconds(10));

/// Reads `file` until a line contains `needle`; returns that line.
std::optional<std::string> wait_for_line(const std::filesystem::path& file, const std::string& needle,
                                         std::chrono::milliseconds timeout = std::chrono::seconds(10));

}  // namespace hiegate::test

#include <thread>

template <class Pred>
bool hiegate::test::eventually(Pred pred, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return pred();
}
