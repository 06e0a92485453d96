#include "hiegate/transport/peer_http.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>

namespace hiegate::transport {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

bool path_matches(std::string_view pattern, std::string_view path) {
  if (pattern.ends_with("/*")) return path.starts_with(pattern.substr(0, pattern.size() - 1));
  return pattern == path;
}

bool caller_allowed(Caller allowed, const PeerIdentity& id) {
  switch (allowed) {
    case Caller::any: return true;
    case Caller::facility: return id.kind == PeerIdentity::Kind::facility;
    case Caller::secretariat: return id.kind == PeerIdentity::Kind::secretariat;
  }
  return false;
}

}  // namespace

std::optional<std::string_view> PeerRequest::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (iequals(k, name)) return std::string_view(v);
  return std::nullopt;
}

PeerResponse PeerResponse::json(unsigned status, std::string body) {
  PeerResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

PeerResponse PeerResponse::error(unsigned status, std::string_view code, std::string_view message) {
  nlohmann::json j = {{"error", {{"code", code}, {"message", message}}}};
  return json(status, j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

RouteMatch match_route(const std::vector<PeerRoute>& routes, std::string_view method, std::string_view path,
                       const PeerIdentity& caller) {
  bool path_known = false;
  for (const auto& r : routes) {
    if (!path_matches(r.path, path)) continue;
    path_known = true;
    if (r.method != method) continue;
    if (!caller_allowed(r.allowed, caller))
      return {nullptr, PeerResponse::error(403, "forbidden", "this resource is not available to " + caller.uri())};
    return {&r, std::nullopt};
  }
  if (path_known) return {nullptr, PeerResponse::error(405, "method_not_allowed", "method not allowed")};
  return {nullptr, PeerResponse::error(404, "not_found", "no such resource")};
}

}  // namespace hiegate::transport
