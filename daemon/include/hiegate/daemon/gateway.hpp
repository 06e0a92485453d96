// The running gateway's components, as request handlers see them.
//
// Owned by the App; every pointer stays valid until the App stops. Handlers
// get a `Gateway&` and must not block the event loop: the store and the peer
// client answer through callbacks on their own threads.
#pragma once

#include <boost/asio/io_context.hpp>

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "hiegate/common/result.hpp"
#include "hiegate/daemon/config.hpp"
#include "hiegate/daemon/log.hpp"
#include "hiegate/daemon/metrics.hpp"
#include "hiegate/policy/operating_mode.hpp"
#include "hiegate/policy/rfc3339.hpp"
#include "hiegate/policy/sharing.hpp"

namespace hiegate::transport {
class PeerClient;
class CredentialStore;
}  // namespace hiegate::transport

namespace hiegate::daemon {

class Store;
class DirectiveService;
class AuditLog;
class MemoryBudget;
class AccessWatch;
struct AuditRecord;

struct Gateway {
  boost::asio::io_context& ioc;
  Logger& log;
  Metrics& metrics;
  std::function<ConfigPtr()> config;       ///< the snapshot in force; thread-safe
  std::function<policy::Time()> clock;     ///< wall clock (injectable for tests)
  Store& store;
  DirectiveService* directives = nullptr;  ///< null: no keyset configured (no secretariat)
  transport::PeerClient* peers = nullptr;  ///< null: TLS not configured (standalone)
  transport::CredentialStore* credentials = nullptr;
  AuditLog* audit = nullptr;  ///< the tamper-evident trail; every clinical answer waits for it
  MemoryBudget* memory = nullptr;  ///< document bytes in memory; null: unbounded (tests, benchmarks)
  AccessWatch* watch = nullptr;    ///< sees every audited record ([alerts]); null: none

  /// Appends `record` and calls `then` once it is durable; if the trail
  /// cannot be written, `then` gets `audit_unavailable` and the caller must
  /// refuse (fail closed). `then` runs on the audit writer thread.
  void audited(AuditRecord record, std::function<void(Status)> then) const;

  /// The effective operating mode of this facility now (all functions when
  /// no secretariat is configured). Cheap; call it per request.
  [[nodiscard]] policy::OperatingMode mode() const;

  /// Whether break-glass is widened (利用規程 第11条2項) for a request from
  /// `requester`: a disaster order is in force for this facility, or for the
  /// requesting one (every gateway holds the whole signed set, so the
  /// facility that answers honours an order addressed to the stricken one).
  [[nodiscard]] bool disaster_for(std::string_view requester) const;
};

/// The sharing rules of a config snapshot.
[[nodiscard]] policy::SharingRules sharing_rules(const Config& cfg);

}  // namespace hiegate::daemon
