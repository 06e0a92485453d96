#include "audit/syslog.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <ctime>

#include "audit/chain.hpp"

namespace hiegate::daemon::audit {

namespace {

// RFC 5424 PARAM-VALUE escaping: '"', '\' and ']' are escaped.
std::string sd_escape(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '"' || c == '\\' || c == ']') out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

std::string timestamp(std::int64_t ms) {
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000));
  return buf;
}

std::string token(std::string_view v, std::size_t max) {
  std::string out;
  for (char c : v.substr(0, max)) out.push_back(c > 32 && c < 127 ? c : '_');
  return out.empty() ? "-" : out;
}

}  // namespace

std::string format_syslog(const AuditEntry& e, std::string_view patient_hash_hex, std::string_view hostname) {
  const auto& r = e.record;
  const bool notable = r.outcome != AuditOutcome::success || r.emergency;
  const int pri = 13 * 8 + (notable ? 5 : 6);
  std::string docs;
  for (const auto& d : r.document_ids) docs += (docs.empty() ? "" : ",") + d;
  std::string m = "<" + std::to_string(pri) + ">1 " + timestamp(r.time_ms) + " " + token(hostname, 255) +
                  " hiegate - " + token(r.event, 32) + " [hiegateAudit@32473";
  auto param = [&](const char* name, std::string_view v) {
    m += std::string(" ") + name + "=\"" + sd_escape(v) + "\"";
  };
  param("seq", std::to_string(e.seq));
  param("action", action_code(r.action));
  param("outcome", std::to_string(static_cast<int>(r.outcome)));
  param("user", r.user);
  param("role", r.role);
  param("facility", r.facility);
  param("peer", r.peer_facility);
  param("patientHash", patient_hash_hex);
  param("purpose", r.purpose);
  param("reason", r.reason_code);
  param("rule", r.rule);
  param("documents", docs);
  param("requestId", r.request_id);
  param("emergency", r.emergency ? "1" : "0");
  m += "]";
  return m;
}

SyslogForwarder::SyslogForwarder(std::string socket_path, std::size_t max_backlog)
    : path_(std::move(socket_path)), max_(max_backlog == 0 ? 1 : max_backlog) {
  fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  thread_ = std::thread([this] { loop(); });
}

SyslogForwarder::~SyslogForwarder() {
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
  if (fd_ >= 0) ::close(fd_);
}

void SyslogForwarder::push(std::string message) {
  {
    std::lock_guard lk(mu_);
    if (backlog_.size() >= max_) {
      backlog_.pop_front();
      ++dropped_;
    }
    backlog_.push_back(std::move(message));
  }
  cv_.notify_one();
}

AuditLog::ForwardStats SyslogForwarder::stats() const {
  std::lock_guard lk(mu_);
  return {sent_, dropped_, backlog_.size()};
}

bool SyslogForwarder::send(const std::string& m) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (fd_ < 0 || path_.size() >= sizeof addr.sun_path) return false;
  std::memcpy(addr.sun_path, path_.c_str(), path_.size() + 1);
  const auto n = ::sendto(fd_, m.data(), m.size(), MSG_NOSIGNAL, reinterpret_cast<const sockaddr*>(&addr),
                          sizeof addr);
  return n == static_cast<ssize_t>(m.size());
}

void SyslogForwarder::loop() {
  using namespace std::chrono_literals;
  auto backoff = 10ms;
  std::unique_lock lk(mu_);
  for (;;) {
    cv_.wait(lk, [&] { return stopping_ || !backlog_.empty(); });
    if (stopping_) return;
    std::string m = backlog_.front();
    lk.unlock();
    const bool ok = send(m);
    lk.lock();
    if (ok) {
      // Drop it unless push() already evicted it while we were sending.
      if (!backlog_.empty() && backlog_.front() == m) backlog_.pop_front();
      ++sent_;
      backoff = 10ms;
    } else {
      cv_.wait_for(lk, backoff, [&] { return stopping_; });
      backoff = std::min<std::chrono::milliseconds>(backoff * 2, 1000ms);
    }
  }
}

}  // namespace hiegate::daemon::audit
