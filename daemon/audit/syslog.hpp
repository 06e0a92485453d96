// Live forwarding of audit records as RFC 5424 syslog messages to a local
// Unix datagram socket (e.g. /dev/log or a collector's relay). Private.
//
// Never blocks the caller: push() appends to a bounded backlog (dropping the
// oldest message, counted, when full) and one thread sends, retrying with
// backoff while the socket is absent or refuses. Messages carry no patient
// identifier (only its keyed hash) and no free-text detail.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

#include "hiegate/daemon/audit.hpp"

namespace hiegate::daemon::audit {

/// One RFC 5424 message (facility 13 "log audit"; severity notice for
/// failures and emergency access, info otherwise).
[[nodiscard]] std::string format_syslog(const AuditEntry& e, std::string_view patient_hash_hex,
                                        std::string_view hostname);

class SyslogForwarder {
public:
  SyslogForwarder(std::string socket_path, std::size_t max_backlog);
  ~SyslogForwarder();  ///< stops at once; messages still queued are dropped
  SyslogForwarder(const SyslogForwarder&) = delete;
  SyslogForwarder& operator=(const SyslogForwarder&) = delete;

  void push(std::string message);
  [[nodiscard]] AuditLog::ForwardStats stats() const;

private:
  void loop();
  bool send(const std::string& m);

  std::string path_;
  std::size_t max_;
  int fd_ = -1;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> backlog_;
  std::uint64_t sent_ = 0, dropped_ = 0;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace hiegate::daemon::audit
