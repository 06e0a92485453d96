#include "hiegate/policy/actor.hpp"

#include <algorithm>

namespace hiegate::policy {
namespace {

bool is_alnum(char c) noexcept {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

}  // namespace

bool is_patient_id(std::string_view s) noexcept {
  if (s.empty() || s.size() > 64) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return is_alnum(c) || c == '-'; });
}

bool is_user_id(std::string_view s) noexcept {
  const std::size_t slash = s.find('/');
  if (slash != 10) return false;
  const std::string_view facility = s.substr(0, slash), local = s.substr(slash + 1);
  if (!std::all_of(facility.begin(), facility.end(), [](char c) { return c >= '0' && c <= '9'; })) return false;
  return is_local_id(local);
}

bool is_local_id(std::string_view s) noexcept {
  if (s.empty() || s.size() > 64 || s == "." || s == "..") return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return is_alnum(c) || c == '-' || c == '_' || c == '.'; });
}

}  // namespace hiegate::policy
