// The audit trail's WAL flusher (syncer.hpp).
#include "audit/syncer.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "hiegate/daemon/events.hpp"
#include "hiegate/daemon/log.hpp"

namespace hiegate::daemon::audit {

Syncer::Syncer(std::filesystem::path wal, bool durable, Logger& log)
    : wal_(std::move(wal)), durable_(durable), log_(log), thread_([this] { loop(); }) {}

Syncer::~Syncer() {
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
  if (fd_ >= 0) ::close(fd_);
}

void Syncer::push(Status committed, std::vector<Callback> callbacks) {
  {
    std::lock_guard lk(mu_);
    queue_.push_back({std::move(committed), std::move(callbacks)});
  }
  cv_.notify_one();
}

Status Syncer::flush() {
  if (!durable_) return {};
  if (fd_ < 0) {
    // The writer's connection keeps the WAL file in place (same inode) for
    // the trail's whole life: flushing any descriptor of it flushes the
    // frames SQLite wrote through its own.
    fd_ = ::open(wal_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) {
      return make_error("audit_unavailable", "cannot open " + wal_.string() + ": " + std::strerror(errno));
    }
  }
  if (::fdatasync(fd_) != 0) {
    return make_error("audit_unavailable", "cannot flush " + wal_.string() + ": " + std::strerror(errno));
  }
  return {};
}

void Syncer::loop() {
  ::pthread_setname_np(::pthread_self(), "hiegate-auditfs");
  std::unique_lock lk(mu_);
  for (;;) {
    cv_.wait(lk, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;
    std::deque<Group> groups;
    groups.swap(queue_);
    lk.unlock();
    bool any = false;
    for (const auto& g : groups) any = any || static_cast<bool>(g.committed);
    Status flushed;
    if (broken_) {
      flushed = *broken_;
    } else if (any) {
      flushed = flush();
      if (!flushed) {
        broken_ = flushed.error();
        log_.log(Level::critical, events::kAuditUnavailable,
                 "the audit trail could not be flushed; audited requests are refused until hiegated restarts",
                 {{"CODE", flushed.error().code}, {"ERROR", flushed.error().message}});
      }
    }
    for (auto& g : groups) {
      const Status st = g.committed ? flushed : g.committed;
      for (auto& cb : g.callbacks) {
        if (cb) cb(st);
      }
    }
    lk.lock();
  }
}

}  // namespace hiegate::daemon::audit
