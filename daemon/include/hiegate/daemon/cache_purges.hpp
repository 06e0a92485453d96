// Carries out the secretariat's `purge_cache` orders once per order id
// (shared/spec/directives.md: "destroyed, once").
//
// An executed id is recorded in the store's directives table (key
// "purge_cache/<id>") after the purge, so that neither a restart nor a
// re-push purges again; a crash between purge and record purges again at the
// next start (harmless: purging is idempotent). Every execution is audited
// (event "cache_purge") and logged. A failed purge is retried at the next
// check().
//
// Thread-safety: check() may be called from any thread, concurrently; each
// id is executed by at most one call at a time. The Store must outlive the
// object and every purge it started.
#pragma once

#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "hiegate/daemon/audit.hpp"
#include "hiegate/daemon/log.hpp"
#include "hiegate/policy/operating_mode.hpp"

namespace hiegate::daemon {

class Store;

class CachePurges {
public:
  /// Appends an audit record (fire and forget: a purge is done regardless).
  using Audit = std::function<void(AuditRecord)>;
  CachePurges(Store& store, Logger& log, Audit audit);

  /// Starts every order in `purges` not executed before. `done` (may be
  /// empty) runs, on a store thread or at once, when all those started here
  /// have finished, with the number executed now.
  void check(const std::vector<policy::PurgeOrder>& purges, std::function<void(std::size_t)> done = {});

private:
  void run(const policy::PurgeOrder& p, std::function<void(bool)> finished);
  void forget(const std::string& id);

  Store& store_;
  Logger& log_;
  Audit audit_;
  std::mutex mu_;
  std::set<std::string> seen_;  // executed or in progress
};

}  // namespace hiegate::daemon
