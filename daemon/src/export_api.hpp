// Local API of exports, printouts, secondary use and third-party provision
// (規程 第13・14・17・18・19条; docs/exports.md):
//   POST/GET /v1/approvals, DELETE /v1/approvals/{id},
//   POST/GET /v1/exports, GET /v1/exports/{ticket},
//   POST /v1/exports/{ticket}/deleted.
#pragma once

#include <cstddef>
#include <functional>

#include "hiegate/daemon/gateway.hpp"
#include "hiegate/daemon/http.hpp"

namespace hiegate::daemon {

/// Adds the routes. Returns the number of exports now past delete_by
/// without a deletion confirmation: cheap (an in-memory count, filled from
/// the store in the background at start and kept current by the routes),
/// thread-safe, valid as long as `gw`. Until the start-up load finishes it
/// may undercount.
std::function<std::size_t()> add_export_routes(Router& router, Gateway& gw);

/// The handler of an export route as the local API serves it: every export,
/// print, approval and deletion confirmation — allowed or refused — is
/// audited before it is answered (GET routes are returned unchanged).
/// Use with Router::add_all over the routes of add_export_routes.
[[nodiscard]] Handler audited_export_route(Gateway& gw, const Router::Route& r);

}  // namespace hiegate::daemon
