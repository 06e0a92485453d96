// Records handed over by other processes (hiegatectl backup, restore, store
// rekey) while a daemon writes the trail, and the lock that makes the daemon
// the only writer. Private.
//
// A spooled record is one file in <dir>/audit-spool/, its canonical body
// sealed with the audit ring (binding "audit_spool"), written atomically
// (temp file, fsync, rename, fsync of the directory), mode 0600. The writer
// appends spooled records to the chain (keeping their time) and removes each
// file after the commit: a crash between the two appends it again (a
// duplicate, never a loss). A file that does not open is moved aside as
// `*.rejected` and logged.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "audit/chain.hpp"

namespace hiegate::daemon::audit {

/// An exclusive flock on <dir>/audit.lock, held for the writer's lifetime.
class WriterLock {
public:
  /// audit_busy if another process holds it.
  static Result<WriterLock> acquire(const std::filesystem::path& dir);
  WriterLock(WriterLock&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  WriterLock& operator=(WriterLock&&) = delete;
  WriterLock(const WriterLock&) = delete;
  ~WriterLock();

private:
  explicit WriterLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

[[nodiscard]] std::filesystem::path spool_dir(const std::filesystem::path& dir);

Status spool_write(const std::filesystem::path& dir, const Keys& keys, const AuditRecord& r);

struct SpoolItem {
  std::filesystem::path file;
  AuditRecord record;
};
/// The spooled records, oldest first (at most `max`). Files that do not open
/// are renamed *.rejected and reported in `rejected`.
std::vector<SpoolItem> spool_read(const std::filesystem::path& dir, const Keys& keys, std::size_t max,
                                  std::vector<std::string>& rejected);

}  // namespace hiegate::daemon::audit
