#include "audit/syslog.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <ctime>

#include "audit/chain.hpp"
#include "hiegate/transport/blocking_tls_client.hpp"

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

namespace {

class UnixSink final : public SyslogSink {
public:
  explicit UnixSink(std::string path) : path_(std::move(path)) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  }
  ~UnixSink() override {
    if (fd_ >= 0) ::close(fd_);
  }
  UnixSink(const UnixSink&) = delete;
  UnixSink& operator=(const UnixSink&) = delete;

  bool send(const std::string& m, const std::atomic<bool>&, std::string& error) override {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (fd_ < 0 || path_.size() >= sizeof addr.sun_path) {
      error = "no usable Unix socket for " + path_;
      return false;
    }
    std::memcpy(addr.sun_path, path_.c_str(), path_.size() + 1);
    const auto n = ::sendto(fd_, m.data(), m.size(), MSG_NOSIGNAL, reinterpret_cast<const sockaddr*>(&addr),
                            sizeof addr);
    if (n == static_cast<ssize_t>(m.size())) return true;
    error = path_ + ": " + std::strerror(errno);
    return false;
  }

private:
  std::string path_;
  int fd_ = -1;
};

/// RFC 5425 over TLS, each message framed "LEN SP MSG" (RFC 6587).
class TlsSink final : public SyslogSink {
public:
  explicit TlsSink(std::unique_ptr<transport::BlockingTlsClient> client) : client_(std::move(client)) {}
  bool send(const std::string& m, const std::atomic<bool>& abort, std::string& error) override {
    auto st = client_->send(std::to_string(m.size()) + " " + m, abort);
    if (!st) error = st.error().message;
    return st.ok();
  }

private:
  std::unique_ptr<transport::BlockingTlsClient> client_;
};

}  // namespace

Result<std::unique_ptr<SyslogSink>> tls_syslog_sink(std::string host, std::uint16_t port,
                                                    const std::filesystem::path& ca_file) {
  auto client = transport::BlockingTlsClient::create(std::move(host), port, ca_file);
  if (!client) return std::move(client).error();
  return std::unique_ptr<SyslogSink>(std::make_unique<TlsSink>(std::move(*client)));
}

std::unique_ptr<SyslogSink> unix_syslog_sink(std::string socket_path) {
  return std::make_unique<UnixSink>(std::move(socket_path));
}

SyslogForwarder::SyslogForwarder(std::unique_ptr<SyslogSink> sink, std::size_t max_backlog)
    : sink_(std::move(sink)), max_(max_backlog == 0 ? 1 : max_backlog) {
  thread_ = std::thread([this] { loop(); });
}

SyslogForwarder::~SyslogForwarder() {
  abort_ = true;
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
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
  return {sent_, dropped_, backlog_.size(), last_error_};
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
    std::string error;
    const bool ok = sink_->send(m, abort_, error);
    lk.lock();
    if (ok) {
      // Drop it unless push() already evicted it while we were sending.
      if (!backlog_.empty() && backlog_.front() == m) backlog_.pop_front();
      ++sent_;
      backoff = 10ms;
    } else {
      last_error_ = error;
      cv_.wait_for(lk, backoff, [&] { return stopping_; });
      backoff = std::min<std::chrono::milliseconds>(backoff * 2, 1000ms);
    }
  }
}

}  // namespace hiegate::daemon::audit
