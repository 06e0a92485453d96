#include "hiegate/daemon/cache_purges.hpp"

#include <atomic>
#include <memory>
#include <utility>

#include "hiegate/daemon/events.hpp"
#include "hiegate/daemon/store.hpp"

namespace hiegate::daemon {

namespace {
std::string record_key(const std::string& id) { return "purge_cache/" + id; }
}  // namespace

CachePurges::CachePurges(Store& store, Logger& log, Audit audit)
    : store_(store), log_(log), audit_(std::move(audit)) {}

void CachePurges::forget(const std::string& id) {
  std::lock_guard lk(mu_);
  seen_.erase(id);
}

void CachePurges::check(const std::vector<policy::PurgeOrder>& purges, std::function<void(std::size_t)> done) {
  std::vector<policy::PurgeOrder> fresh;
  {
    std::lock_guard lk(mu_);
    for (const auto& p : purges) {
      if (seen_.insert(p.order_id).second) fresh.push_back(p);
    }
  }
  if (fresh.empty()) {
    if (done) done(0);
    return;
  }
  struct Join {
    std::atomic<std::size_t> left;
    std::atomic<std::size_t> executed{0};
    std::function<void(std::size_t)> done;
  };
  auto join = std::make_shared<Join>();
  join->left = fresh.size();
  join->done = std::move(done);
  for (const auto& p : fresh) {
    run(p, [join](bool executed) {
      if (executed) ++join->executed;
      if (--join->left == 0 && join->done) join->done(join->executed);
    });
  }
}

void CachePurges::run(const policy::PurgeOrder& p, std::function<void(bool)> finished) {
  const std::string id = p.order_id;
  const auto before = p.purge_before.time_since_epoch().count();
  store_.get_record(RecordTable::directives, record_key(id), [this, id, before, finished](Result<StoredRecord> r) {
    if (r) return finished(false);  // executed before this process started
    if (r.error().code != "not_found") {
      forget(id);
      return finished(false);
    }
    store_.cache_purge_before(before, [this, id, before, finished](Result<std::uint64_t> n) {
      if (!n) {
        log_.log(Level::error, events::kCachePurged, "purge_cache order " + id + " failed: " + n.error().message,
                 {{"ORDER", id}, {"CODE", n.error().code}});
        forget(id);
        return finished(false);
      }
      const std::uint64_t count = *n;
      StoredRecord rec{record_key(id), "", std::to_string(before)};
      store_.put_record(RecordTable::directives, std::move(rec), [this, id, count, finished](Result<void> w) {
        if (!w) forget(id);  // purged, not recorded: the next check purges again
        log_.log(Level::notice, events::kCachePurged,
                 "purge_cache order " + id + ": " + std::to_string(count) + " cached documents destroyed",
                 {{"ORDER", id}, {"COUNT", std::to_string(count)}});
        AuditRecord a;
        a.event = "cache_purge";
        a.action = AuditAction::del;
        a.reason_code = "purge_cache";
        a.detail = "order " + id + ": " + std::to_string(count) + " cached documents destroyed";
        if (audit_) audit_(std::move(a));
        finished(true);
      });
    });
  });
}

}  // namespace hiegate::daemon
