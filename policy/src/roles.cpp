#include "hiegate/policy/roles.hpp"

namespace hiegate::policy {

std::string_view name(Role r) noexcept {
  switch (r) {
    case Role::physician: return "physician";
    case Role::nurse: return "nurse";
    case Role::pharmacist: return "pharmacist";
    case Role::technician: return "technician";
    case Role::clerk: return "clerk";
    case Role::approver: return "approver";
    case Role::admin: return "admin";
  }
  return "unknown";
}

std::optional<Role> parse_role(std::string_view s) noexcept {
  for (Role r : kAllRoles) {
    if (name(r) == s) return r;
  }
  return std::nullopt;
}

}  // namespace hiegate::policy
