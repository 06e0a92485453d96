// Route tables of the daemon's two APIs, built once at start.
#pragma once

#include <vector>

#include "hiegate/daemon/gateway.hpp"
#include "hiegate/daemon/http.hpp"
#include "hiegate/transport/peer_http.hpp"

namespace hiegate::daemon {

/// Local API: users, consents, own documents, the patient's documents across
/// the network, remote fetch, emergency accesses.
/// Loads the stored emergency windows first; an unreadable store stops the start.
[[nodiscard]] Status add_clinical_routes(Router& router, Gateway& gw);

/// GET /v1/audit/report for admin users (audit_api.cpp); added by
/// add_clinical_routes.
void add_audit_routes(Router& router, Gateway& gw);

/// Peer API (mutual TLS): document list and fetch for facilities.
[[nodiscard]] std::vector<transport::PeerRoute> peer_routes(Gateway& gw);

}  // namespace hiegate::daemon
