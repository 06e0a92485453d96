// The user acting on a request, as the daemon resolved it from its registry.
#pragma once

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

namespace hiegate::policy {

struct Actor {
  std::string user;                ///< `<facility>/<local user id>`
  std::vector<std::string> roles;  ///< roles held at this gateway

  [[nodiscard]] bool has_role(std::string_view r) const {
    return std::find(roles.begin(), roles.end(), r) != roles.end();
  }
};

/// Syntax checks shared by the export rules (no registry lookups).
/// Patient: the regional id `[A-Za-z0-9-]{1,64}`.
[[nodiscard]] bool is_patient_id(std::string_view s) noexcept;
/// User `<10-digit facility>/<local id>`, local id `[A-Za-z0-9._-]{1,64}`.
[[nodiscard]] bool is_user_id(std::string_view s) noexcept;
/// A local id (user id part, document id, ticket, approval id):
/// `[A-Za-z0-9._-]{1,64}`, not "." or "..". Safe in URL paths and never a
/// path traversal.
[[nodiscard]] bool is_local_id(std::string_view s) noexcept;
/// Document id: a local id.
[[nodiscard]] inline bool is_document_id(std::string_view s) noexcept { return is_local_id(s); }

}  // namespace hiegate::policy
