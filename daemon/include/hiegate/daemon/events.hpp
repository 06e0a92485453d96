// The catalogue of log events. Each has a stable journald MESSAGE_ID; never
// change an id once released (operators filter on them: `journalctl
// MESSAGE_ID=...`). docs/operations.md explains each event.
#pragma once

#include "hiegate/daemon/log.hpp"

namespace hiegate::daemon::events {

// Lifecycle
inline constexpr Event kStarted{"5b0e1c7a9d2f4e61a3c8b7d6e5f40101", "started"};
inline constexpr Event kReady{"5b0e1c7a9d2f4e61a3c8b7d6e5f40102", "ready"};
inline constexpr Event kStopping{"5b0e1c7a9d2f4e61a3c8b7d6e5f40103", "stopping"};
inline constexpr Event kStopped{"5b0e1c7a9d2f4e61a3c8b7d6e5f40104", "stopped"};
inline constexpr Event kStartFailed{"5b0e1c7a9d2f4e61a3c8b7d6e5f40105", "start_failed"};
inline constexpr Event kDrainTimeout{"5b0e1c7a9d2f4e61a3c8b7d6e5f40106", "drain_timeout"};
// Configuration
inline constexpr Event kConfigReloaded{"5b0e1c7a9d2f4e61a3c8b7d6e5f40201", "config_reloaded"};
inline constexpr Event kConfigRejected{"5b0e1c7a9d2f4e61a3c8b7d6e5f40202", "config_rejected"};
inline constexpr Event kConfigRestartNeeded{"5b0e1c7a9d2f4e61a3c8b7d6e5f40203", "config_restart_needed"};
// Local API
inline constexpr Event kListening{"5b0e1c7a9d2f4e61a3c8b7d6e5f40301", "listening"};
inline constexpr Event kAuthFailed{"5b0e1c7a9d2f4e61a3c8b7d6e5f40302", "auth_failed"};
inline constexpr Event kConnectionLimit{"5b0e1c7a9d2f4e61a3c8b7d6e5f40303", "connection_limit"};
inline constexpr Event kRequestError{"5b0e1c7a9d2f4e61a3c8b7d6e5f40304", "request_error"};
inline constexpr Event kInternalError{"5b0e1c7a9d2f4e61a3c8b7d6e5f40305", "internal_error"};
// Audit trail
inline constexpr Event kAuditUnavailable{"5b0e1c7a9d2f4e61a3c8b7d6e5f40a01", "audit_unavailable"};
inline constexpr Event kAuditRecovered{"5b0e1c7a9d2f4e61a3c8b7d6e5f40a02", "audit_recovered"};
inline constexpr Event kAuditPruned{"5b0e1c7a9d2f4e61a3c8b7d6e5f40a04", "audit_pruned"};
inline constexpr Event kAuditSpoolRejected{"5b0e1c7a9d2f4e61a3c8b7d6e5f40a05", "audit_spool_rejected"};

// Store and keys
inline constexpr Event kRecordQuarantined{"5b0e1c7a9d2f4e61a3c8b7d6e5f40401", "record_quarantined"};
inline constexpr Event kRekeyFinished{"5b0e1c7a9d2f4e61a3c8b7d6e5f40402", "rekey_finished"};
inline constexpr Event kRekeyStarted{"5b0e1c7a9d2f4e61a3c8b7d6e5f40403", "rekey_started"};
inline constexpr Event kKeysNotReloaded{"5b0e1c7a9d2f4e61a3c8b7d6e5f40404", "keys_not_reloaded"};
// Directives
inline constexpr Event kDirectivesOff{"5b0e1c7a9d2f4e61a3c8b7d6e5f40501", "directives_off"};
inline constexpr Event kDirectivesFailsafe{"5b0e1c7a9d2f4e61a3c8b7d6e5f40502", "directives_failsafe"};
inline constexpr Event kDirectiveAccepted{"5b0e1c7a9d2f4e61a3c8b7d6e5f40503", "directive_accepted"};
inline constexpr Event kDirectiveRejected{"5b0e1c7a9d2f4e61a3c8b7d6e5f40504", "directive_rejected"};
inline constexpr Event kDirectiveEquivocation{"5b0e1c7a9d2f4e61a3c8b7d6e5f40505", "directive_equivocation"};
inline constexpr Event kCachePurged{"5b0e1c7a9d2f4e61a3c8b7d6e5f40506", "cache_purged"};
inline constexpr Event kRequestsCut{"5b0e1c7a9d2f4e61a3c8b7d6e5f40507", "requests_cut"};
inline constexpr Event kDirectivePullFailed{"5b0e1c7a9d2f4e61a3c8b7d6e5f40508", "directive_pull_failed"};
// Alerts: raised once when a condition starts, cleared once when it ends
// (field ALERT: directives_stale, directives_behind, directives_stale_mode,
// crl_stale, crl_refusing, certificate_expiring, certificate_expired).
inline constexpr Event kAlertRaised{"5b0e1c7a9d2f4e61a3c8b7d6e5f40509", "alert_raised"};
inline constexpr Event kAlertCleared{"5b0e1c7a9d2f4e61a3c8b7d6e5f4050a", "alert_cleared"};
// Peer network
inline constexpr Event kTlsWarning{"5b0e1c7a9d2f4e61a3c8b7d6e5f40601", "tls_warning"};
inline constexpr Event kTlsReloadFailed{"5b0e1c7a9d2f4e61a3c8b7d6e5f40602", "tls_reload_failed"};
inline constexpr Event kPeerRefused{"5b0e1c7a9d2f4e61a3c8b7d6e5f40603", "peer_refused"};
inline constexpr Event kPeerUnavailable{"5b0e1c7a9d2f4e61a3c8b7d6e5f40604", "peer_unavailable"};
inline constexpr Event kTlsReloaded{"5b0e1c7a9d2f4e61a3c8b7d6e5f40606", "tls_reloaded"};
inline constexpr Event kTunnelConnection{"5b0e1c7a9d2f4e61a3c8b7d6e5f40605", "tunnel_connection"};
inline constexpr Event kPeerContentRefused{"5b0e1c7a9d2f4e61a3c8b7d6e5f40607", "peer_content_refused"};
inline constexpr Event kCrlUpdated{"5b0e1c7a9d2f4e61a3c8b7d6e5f40608", "crl_updated"};
inline constexpr Event kCrlPullFailed{"5b0e1c7a9d2f4e61a3c8b7d6e5f40609", "crl_pull_failed"};
// Clinical access
inline constexpr Event kAccessRefused{"5b0e1c7a9d2f4e61a3c8b7d6e5f40701", "access_refused"};
inline constexpr Event kEmergencyAccess{"5b0e1c7a9d2f4e61a3c8b7d6e5f40702", "emergency_access"};

}  // namespace hiegate::daemon::events
