// Live forwarding of audit records as RFC 5424 syslog messages to a local
// Unix datagram socket (e.g. /dev/log or a collector's relay) or over TLS to
// a remote collector (RFC 5425, octet-counting framing of RFC 6587). Private.
//
// Never blocks the caller: push() appends to a bounded backlog (dropping the
// oldest message, counted, when full) and one thread sends, retrying with
// backoff while the socket is absent, refuses, or the TLS connection cannot
// be made. Messages carry no patient identifier (only its keyed hash) and no
// free-text detail.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "hiegate/daemon/audit.hpp"

namespace hiegate::daemon::audit {

/// One RFC 5424 message (facility 13 "log audit"; severity notice for
/// failures and emergency access, info otherwise).
[[nodiscard]] std::string format_syslog(const AuditEntry& e, std::string_view patient_hash_hex,
                                        std::string_view hostname);

/// Where forwarded messages go. Used only by the forwarder's thread.
class SyslogSink {
public:
  virtual ~SyslogSink() = default;
  /// Sends one message, (re)connecting if needed; false (with `error` set)
  /// if it could not: the forwarder keeps it and retries later. Blocking
  /// steps give up soon after `abort` becomes true.
  virtual bool send(const std::string& message, const std::atomic<bool>& abort, std::string& error) = 0;
};

/// RFC 5424 datagrams to a Unix socket.
[[nodiscard]] std::unique_ptr<SyslogSink> unix_syslog_sink(std::string socket_path);

/// RFC 5425: TLS 1.2 to host:port, the collector's certificate verified
/// against the CA certificates in `ca_file` (PEM) and `host`; each message
/// framed as "LENGTH SP MESSAGE" (RFC 6587 octet counting). Fails at once
/// (config_invalid) if the CA file cannot be read. A message counts as sent
/// once TLS has written it to the connection: the few in flight when a
/// collector drops the connection may be lost (the trail is the record).
Result<std::unique_ptr<SyslogSink>> tls_syslog_sink(std::string host, std::uint16_t port,
                                                    const std::filesystem::path& ca_file);

class SyslogForwarder {
public:
  SyslogForwarder(std::unique_ptr<SyslogSink> sink, std::size_t max_backlog);
  ~SyslogForwarder();  ///< stops at once; messages still queued are dropped
  SyslogForwarder(const SyslogForwarder&) = delete;
  SyslogForwarder& operator=(const SyslogForwarder&) = delete;

  void push(std::string message);
  [[nodiscard]] AuditLog::ForwardStats stats() const;

private:
  void loop();

  std::unique_ptr<SyslogSink> sink_;
  std::size_t max_;
  std::atomic<bool> abort_{false};
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> backlog_;
  std::uint64_t sent_ = 0, dropped_ = 0;
  std::string last_error_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace hiegate::daemon::audit
