// Structured logging: journald when stderr is connected to the journal
// (JOURNAL_STREAM), one line per event on stderr otherwise.
//
// Every event has a stable MESSAGE_ID (see events.hpp) and structured
// HIEGATE_* fields. Callers must never pass secrets or patient data: log
// hashes, counts, codes and facility ids only.
//
// Thread-safe. Held by value in the App and passed by reference; no globals.
#pragma once

#include <atomic>
#include <initializer_list>
#include <mutex>
#include <string>
#include <string_view>

namespace hiegate::daemon {

enum class Level { debug = 7, info = 6, notice = 5, warning = 4, error = 3, critical = 2 };

[[nodiscard]] std::string_view level_name(Level l) noexcept;
/// "debug", "info", "notice", "warning", "error", "critical".
[[nodiscard]] bool parse_level(std::string_view s, Level& out) noexcept;

/// A stable event kind: a 128-bit journald MESSAGE_ID (32 lower-case hex) and
/// a short name for the stderr form.
struct Event {
  std::string_view id;
  std::string_view name;
};

/// A structured field. `key` is upper-case without the HIEGATE_ prefix.
struct Field {
  std::string_view key;
  std::string value;
};

class Logger {
public:
  enum class Sink { stderr_text, journal };

  /// Journal when the JOURNAL_STREAM device:inode matches stderr's.
  static Sink detect_sink();

  explicit Logger(Sink sink = detect_sink(), Level min = Level::info);

  void set_level(Level l) noexcept { min_.store(l, std::memory_order_relaxed); }
  [[nodiscard]] Level level() const noexcept { return min_.load(std::memory_order_relaxed); }
  [[nodiscard]] bool enabled(Level l) const noexcept {
    return static_cast<int>(l) <= static_cast<int>(level());
  }

  void log(Level l, const Event& ev, std::string_view message,
           std::initializer_list<Field> fields = {});

private:
  Sink sink_;
  std::atomic<Level> min_;
  std::mutex stderr_mu_;
};

}  // namespace hiegate::daemon
