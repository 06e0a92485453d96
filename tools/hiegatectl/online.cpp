#include "hiegatectl/online.hpp"

#include <iostream>

namespace hiegate::tools {

std::optional<Online> Online::from(const Args& args) {
  auto token = read_token(args.get("token-file"));
  if (!token) {
    std::cerr << "hiegatectl: " << token.error().message << "\n";
    return std::nullopt;
  }
  LocalClient client(args.get("socket").value_or("/run/hiegate/local.sock"));
  if (auto as = args.get("as")) client.set_header("X-HIE-User", *as);
  return Online(std::move(client), std::move(*token));
}

int Online::call(const std::string& method, const std::string& target, const nlohmann::json* body,
                 nlohmann::json& out) const {
  auto res = body ? client_.request(method, target, token_, body->dump(), "application/json")
                  : client_.request(method, target, token_);
  if (!res) {
    std::cerr << "hiegatectl: " << res.error().message << "\n";
    return 1;  // the action failed (2 is for a bad command line)
  }
  out = nlohmann::json::parse(res->body, nullptr, false);
  if (res->status >= 200 && res->status < 300) {
    if (out.is_discarded()) out = res->body;
    return 0;
  }
  if (out.is_object() && out.contains("error") && out["error"].is_object()) {
    const auto& e = out["error"];
    std::cerr << "hiegatectl: refused: " << e.value("code", "?") << ": " << e.value("message", "") << " (HTTP "
              << res->status << ")\n";
  } else {
    std::cerr << "hiegatectl: the gateway answered " << res->status << ": " << res->body << "\n";
  }
  return 1;
}

bool is_path_segment(const std::string& id) {
  if (id.empty() || id.size() > 64) return false;
  for (const char c : id) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '_' || c == '-';
    if (!ok) return false;
  }
  return id != "." && id != "..";
}

}  // namespace hiegate::tools
