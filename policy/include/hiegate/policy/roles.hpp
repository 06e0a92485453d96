// Roles of registered users (利用規程 第3条) and the sets of roles that rules
// grant things to.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace hiegate::policy {

enum class Role : std::uint8_t { physician, nurse, pharmacist, technician, clerk, approver, admin };

inline constexpr std::array<Role, 7> kAllRoles = {Role::physician,  Role::nurse, Role::pharmacist,
                                                   Role::technician, Role::clerk, Role::approver,
                                                   Role::admin};

[[nodiscard]] std::string_view name(Role r) noexcept;
[[nodiscard]] std::optional<Role> parse_role(std::string_view s) noexcept;

/// A set of roles as a bit mask. Value type.
class RoleSet {
public:
  constexpr RoleSet() = default;
  constexpr RoleSet(std::initializer_list<Role> roles) {
    for (Role r : roles) insert(r);
  }
  [[nodiscard]] constexpr bool contains(Role r) const { return (bits_ >> static_cast<unsigned>(r)) & 1U; }
  constexpr RoleSet& insert(Role r) {
    bits_ = static_cast<std::uint8_t>(bits_ | (1U << static_cast<unsigned>(r)));
    return *this;
  }
  [[nodiscard]] constexpr RoleSet unite(RoleSet o) const {
    RoleSet s;
    s.bits_ = static_cast<std::uint8_t>(bits_ | o.bits_);
    return s;
  }
  [[nodiscard]] constexpr bool empty() const { return bits_ == 0; }
  friend constexpr bool operator==(RoleSet, RoleSet) = default;

private:
  std::uint8_t bits_ = 0;
};

}  // namespace hiegate::policy
