// Pieces shared by the export routes (export_api.cpp, export_create.cpp).
#pragma once

#include "clinical_common.hpp"

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "export_records.hpp"
#include "hiegate/daemon/gateway.hpp"
#include "hiegate/daemon/http.hpp"
#include "hiegate/policy/sharing.hpp"

namespace hiegate::daemon::exports {

/// The most documents one export request may name.
inline constexpr std::size_t kMaxExportDocuments = 100;

/// The user acting on an export request, resolved from X-HIE-User.
struct ExportUser {
  policy::UserRecord record;
  policy::Actor actor;  ///< network user id and roles, as the export rules see them
  ConfigPtr config;
  policy::OperatingMode mode;
};

using daemon::bad_request;  // from clinical_common.hpp
using daemon::store_error;
/// 403 (or `status`) {"error":{code,message,rule,localized{ja,en}}}.
HttpResponse export_refusal(const std::string& code, const std::string& rule, const std::string& message,
                            http::status status = http::status::forbidden);
std::optional<nlohmann::json> parse_object(const ApiRequest& req);
/// Random id of 32 hex digits (a policy::is_local_id).
std::string random_id();

/// Resolves X-HIE-User (registered, active, not suspended by an order).
/// Calls `next` on a store thread, or answers the refusal itself.
void resolve_user(Gateway& gw, const ApiRequest& req, const std::shared_ptr<Responder>& r,
                  std::function<void(ExportUser)> next);

/// Loads one stored ticket; 404 `not_found` answered itself.
void load_ticket(Gateway& gw, const std::string& id, const std::shared_ptr<Responder>& r,
                 std::function<void(ExportTicket)> next);

/// POST /v1/exports.
void add_create_route(Router& router, Gateway& gw, std::shared_ptr<ExportLedger> ledger);

}  // namespace hiegate::daemon::exports
