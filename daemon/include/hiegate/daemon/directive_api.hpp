// Delivery of secretariat directives to the running daemon
// (shared/spec/directives.md §5): the peer route `PUT /peer/v1/directives`
// (secretariat certificate only), the local API route `POST /v1/directives`
// (behind `hiegatectl directives apply`), and the shared function both use.
//
// Request body: one DSSE envelope, or a JSON array of envelopes applied in
// order (policy::split_delivery). Each envelope goes through
// DirectiveService::deliver (verify, persist, apply); a rejected one does not
// stop the later ones (each is verified on its own against the state the
// earlier ones left), a persistence failure does.
//
// Answer (JSON):
//   {"facility": "1300000001", "keyset_version": 2,
//    "orders_sequence": 42 | null, "heartbeat_sequence": 1001 | null,
//    "mode": "normal" | "stopped" | ... (OperatingMode::summary), "failsafe": false,
//    "results": [{"kind": "orders", "decision": "accept"|"noop"|"reject",
//                 "sequence": 42, "reason": "rollback", "detail": "..."}],
//    "error": {"code": "<first rejection reason>", "message": "..."}}   (on failure only)
// Status: 200 every envelope accepted or a no-op; 400 `malformed` when the
// body is neither an envelope nor an array of them (nothing applied); 409
// when the first rejection conflicts with the stored state (`rollback`,
// `equivocation`, `version_gap`, `keyset_version`); 422 for any other
// rejection (the document itself is unacceptable); 503 `store_write_failed`
// (that envelope and the ones after it were not applied).
//
// Suggested log events for the lead's catalogue (events.hpp):
//   directive_accepted     info    kind, sequence, source
//   directive_noop         debug   kind, sequence, source
//   directive_rejected     warning kind, reason, detail, source (every rejection is audited)
//   directive_equivocation alert   kind, sequence, source (a second body for one sequence)
//   directive_store_failed error   kind, message
//   directive_failsafe     crit    reason (at start, until orders are accepted)
//   directive_stale / directive_behind / directive_stale_mode   warning (freshness changes)
//   directive_pull_failed  warning url, error (pull poller)
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "hiegate/common/result.hpp"
#include "hiegate/daemon/audit.hpp"
#include "hiegate/daemon/directive_service.hpp"
#include "hiegate/daemon/http.hpp"
#include "hiegate/policy/directives.hpp"
#include "hiegate/transport/peer_http.hpp"

namespace hiegate::daemon {

/// Where the directive store lives under the daemon's state_dir.
inline constexpr std::string_view kDirectiveStoreSubdir = "directives";

/// Called once per envelope of a delivery, in order, with where it came from
/// ("peer hie://<network>/secretariat", "local <token name>", "file") and the
/// verdict or the persistence error. A body that is not an envelope or an
/// array of them is reported once, as index 0 rejected `malformed`. Must be thread-safe and quick; may be
/// empty.
using DirectiveAuditHook =
    std::function<void(std::string_view source, std::size_t index, const Result<policy::Verdict>&)>;

/// The audit record of one delivered envelope (event "directive"): action
/// update, outcome success for an accepted one or a no-op, minor failure for
/// a rejection, serious failure for an equivocation or a store failure;
/// reason_code "accept", "noop", the rejection reason or the store error
/// code; detail: source#index, kind, sequence and the verifier's detail.
[[nodiscard]] AuditRecord directive_audit_record(std::string_view source, std::size_t index,
                                                 const Result<policy::Verdict>& verdict);

struct DeliveryAnswer {
  unsigned status = 200;
  std::string body;  ///< the JSON answer above
};

/// Appends one audit record and calls back once it is durable (or failed):
/// Gateway::audited.
using AuditAppend = std::function<void(AuditRecord, std::function<void(Status)>)>;

/// `notify`, then each envelope's record (directive_audit_record) appended
/// through `append`, not waited for (the pull path: nobody to answer).
[[nodiscard]] DirectiveAuditHook recording(DirectiveAuditHook notify, AuditAppend append);

/// deliver_directives, then `done` once the record of every envelope is
/// durable: the secretariat's answer (a push, a local delivery) never
/// precedes the records. What was applied stays applied; if a record could
/// not be written the answer is 503 `audit_unavailable` (with the state), so
/// that the sender delivers again and the trail gets it. `done` may run on
/// the audit trail's thread. An empty `append` records nothing.
void deliver_recorded(DirectiveService& service, std::string_view facility, std::string_view body,
                      policy::Time now, std::string_view source, const DirectiveAuditHook& notify,
                      const AuditAppend& append, std::function<void(DeliveryAnswer)> done);

/// Applies a delivery body and builds the answer. Thread-safe (the service
/// serialises deliveries). Blocks for the fsyncs of accepted documents.
[[nodiscard]] DeliveryAnswer deliver_directives(DirectiveService& service,
                                                std::string_view facility, std::string_view body,
                                                policy::Time now, std::string_view source,
                                                const DirectiveAuditHook& audit);

/// `PUT /peer/v1/directives`, Caller::secretariat. `service` must outlive the
/// server holding the route. `clock` gives the current time.
[[nodiscard]] transport::PeerRoute directives_peer_route(DirectiveService& service,
                                                         std::string facility,
                                                         std::function<policy::Time()> clock,
                                                         DirectiveAuditHook notify, AuditAppend append = {});

/// `GET /peer/v1/directives`, Caller::secretariat: the status read. The same
/// state as a push's answer (facility, keyset version, orders and heartbeat
/// sequences, effective mode, failsafe), without delivering anything.
[[nodiscard]] transport::PeerRoute directives_status_route(const DirectiveService& service, std::string facility,
                                                           std::function<policy::Time()> clock);

/// The local API handler for `POST /v1/directives` (authenticated route).
/// Same body and answer as the peer route.
[[nodiscard]] Handler directives_local_handler(DirectiveService& service, std::string facility,
                                               std::function<policy::Time()> clock,
                                               DirectiveAuditHook notify, AuditAppend append = {});

/// The local API handler for `GET /v1/directives` (authenticated route):
/// everything the gateway holds from the secretariat — the current keyset,
/// the orders (each with `in_force`: addressed to this facility and within
/// its window now), the heartbeat (with `expired`) — and the mode they make
/// (as in /v1/status). For `hiegatectl directives show`.
[[nodiscard]] Handler directives_show_handler(const DirectiveService& service, std::string facility,
                                              std::function<policy::Time()> clock);

}  // namespace hiegate::daemon
