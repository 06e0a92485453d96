// Watches the credential files (certificate, key, CA, CRL) and reloads the
// CredentialStore when one of them changes, without a signal.
//
// inotify watches the directories that hold the files (so that an atomic
// rename over a file is seen, as well as an in-place rewrite); events about
// other names are ignored. A burst of events is collapsed: the reload runs
// once no event came for `debounce`. A reload that fails (a half-written or
// broken file) keeps the old snapshot (CredentialStore::reload) and is
// reported; the next change triggers a new attempt.
#pragma once

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <functional>
#include <memory>

#include "hiegate/common/result.hpp"
#include "hiegate/transport/credentials.hpp"

namespace hiegate::transport {

struct CredentialWatchOptions {
  std::chrono::milliseconds debounce{500};
  /// Time for the reload's validity checks; system clock if empty.
  std::function<SystemTime()> clock;
  /// Called after each reload attempt with its outcome, on an io_context
  /// thread (one at a time). Must not throw. May be empty.
  std::function<void(const Status&)> on_reload;
};

/// Runs on `ioc`; owns an inotify descriptor. Not copyable. stop() (or the
/// destructor) ends the watch; no callback runs after stop() returns if it is
/// called from an io_context thread or while the io_context is not running.
class CredentialWatcher {
public:
  /// Errors: watch_failed (inotify unavailable, a directory missing).
  [[nodiscard]] static Result<std::unique_ptr<CredentialWatcher>> start(boost::asio::io_context& ioc,
                                                                       std::shared_ptr<CredentialStore> store,
                                                                       CredentialWatchOptions opts);
  ~CredentialWatcher();
  CredentialWatcher(const CredentialWatcher&) = delete;
  CredentialWatcher& operator=(const CredentialWatcher&) = delete;
  void stop();

  struct Impl;

private:
  explicit CredentialWatcher(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

}  // namespace hiegate::transport
