#include "hiegate/daemon/log.hpp"

#include <sys/stat.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <vector>

namespace hiegate::daemon {

std::string_view level_name(Level l) noexcept {
  switch (l) {
    case Level::debug: return "debug";
    case Level::info: return "info";
    case Level::notice: return "notice";
    case Level::warning: return "warning";
    case Level::error: return "error";
    case Level::critical: return "critical";
  }
  return "info";
}

bool parse_level(std::string_view s, Level& out) noexcept {
  for (Level l : {Level::debug, Level::info, Level::notice, Level::warning, Level::error,
                  Level::critical}) {
    if (level_name(l) == s) {
      out = l;
      return true;
    }
  }
  return false;
}

Logger::Sink Logger::detect_sink() {
  const char* js = std::getenv("JOURNAL_STREAM");
  if (js == nullptr) return Sink::stderr_text;
  unsigned long long dev = 0, ino = 0;
  if (std::sscanf(js, "%llu:%llu", &dev, &ino) != 2) return Sink::stderr_text;
  struct stat st {};
  if (fstat(STDERR_FILENO, &st) != 0) return Sink::stderr_text;
  return (st.st_dev == dev && st.st_ino == ino) ? Sink::journal : Sink::stderr_text;
}

Logger::Logger(Sink sink, Level min) : sink_(sink), min_(min) {}

namespace {

// Keeps one line per event: control characters are escaped.
void append_escaped(std::string& out, std::string_view v) {
  for (char c : v) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", u);
      out += buf;
    } else {
      out += c;
    }
  }
}

}  // namespace

void Logger::log(Level l, const Event& ev, std::string_view message,
                 std::initializer_list<Field> fields) {
  if (!enabled(l)) return;
  if (sink_ == Sink::journal) {
    std::vector<std::string> items;
    items.reserve(fields.size() + 5);
    items.push_back("MESSAGE=" + std::string(message));
    items.push_back("PRIORITY=" + std::to_string(static_cast<int>(l)));
    items.push_back("MESSAGE_ID=" + std::string(ev.id));
    items.push_back("SYSLOG_IDENTIFIER=hiegated");
    items.push_back("HIEGATE_EVENT=" + std::string(ev.name));
    for (const auto& f : fields) items.push_back("HIEGATE_" + std::string(f.key) + "=" + f.value);
    std::vector<iovec> iov(items.size());
    for (std::size_t i = 0; i < items.size(); ++i) {
      iov[i].iov_base = items[i].data();
      iov[i].iov_len = items[i].size();
    }
    sd_journal_sendv(iov.data(), static_cast<int>(iov.size()));
    return;
  }
  // "<prio>level event: message KEY=value ..." — the <prio> prefix lets
  // journald assign a priority if stderr is later captured by it.
  std::string line;
  line.reserve(128);
  line += '<';
  line += std::to_string(static_cast<int>(l));
  line += '>';
  line += level_name(l);
  line += ' ';
  line += ev.name;
  line += ": ";
  append_escaped(line, message);
  for (const auto& f : fields) {
    line += ' ';
    line += f.key;
    line += "=\"";
    append_escaped(line, f.value);
    line += '"';
  }
  line += '\n';
  std::lock_guard lk(stderr_mu_);
  (void)!::write(STDERR_FILENO, line.data(), line.size());
}

}  // namespace hiegate::daemon
