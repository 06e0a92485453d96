#include "hiegate/transport/identity.hpp"

#include <algorithm>

namespace hiegate::transport {

std::string PeerIdentity::uri() const {
  if (kind == Kind::secretariat) return "hie://" + network + "/secretariat";
  return "hie://" + network + "/facility/" + facility;
}

bool is_facility_code(std::string_view code) noexcept {
  return code.size() == 10 &&
         std::all_of(code.begin(), code.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool is_network_id(std::string_view id) noexcept {
  return !id.empty() && id.size() <= 32 && std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

std::optional<PeerIdentity> parse_identity_uri(std::string_view uri) {
  constexpr std::string_view scheme = "hie://";
  if (!uri.starts_with(scheme)) return std::nullopt;
  uri.remove_prefix(scheme.size());
  const auto slash = uri.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  PeerIdentity id;
  id.network = std::string(uri.substr(0, slash));
  if (!is_network_id(id.network)) return std::nullopt;
  const std::string_view rest = uri.substr(slash + 1);
  if (rest == "secretariat") {
    id.kind = PeerIdentity::Kind::secretariat;
    return id;
  }
  constexpr std::string_view fac = "facility/";
  if (!rest.starts_with(fac)) return std::nullopt;
  const std::string_view code = rest.substr(fac.size());
  if (!is_facility_code(code)) return std::nullopt;
  id.kind = PeerIdentity::Kind::facility;
  id.facility = std::string(code);
  return id;
}

}  // namespace hiegate::transport
