// The route groups add_clinical_routes (clinical_api.cpp) wires and wraps
// in their audit. Private to the daemon.
#pragma once

#include "hiegate/daemon/gateway.hpp"
#include "hiegate/daemon/http.hpp"

namespace hiegate::daemon {

/// PUT/GET/DELETE /v1/users/{id} and GET /v1/users (registry_api.cpp).
void add_user_routes(Router& router, Gateway& gw);
/// PUT/GET/DELETE /v1/consents/{patient} and GET /v1/consents (registry_api.cpp).
void add_consent_routes(Router& router, Gateway& gw);
/// POST /v1/cache/purge (registry_api.cpp).
void add_cache_routes(Router& router, Gateway& gw);
/// PUT /v1/documents/{id} with a raw body (document_upload.cpp): `id` is
/// valid and the mode allows publishing; the rest is checked here.
void publish_raw(Gateway& gw, ApiRequest& req, Responder r, std::string id);

}  // namespace hiegate::daemon
