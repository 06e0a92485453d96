#include "system_api.hpp"

#include <ctime>
#include <nlohmann/json.hpp>

namespace hiegate::daemon {

std::string format_utc(std::chrono::system_clock::time_point t) {
  const std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

void add_system_routes(Router& router, SystemContext ctx) {
  // Liveness for load balancers and scripts: no token, no details.
  router.add(
      http::verb::get, "/v1/health",
      [](ApiRequest&, Responder r) { r.send(json_response(http::status::ok, {{"status", "ok"}})); },
      /*authenticated=*/false);

  router.add(http::verb::get, "/v1/status", [ctx](ApiRequest&, Responder r) {
    nlohmann::json j = nlohmann::json::object();
    ctx.fill_status(j);
    r.send(json_response(http::status::ok, j));
  });

  router.add(http::verb::post, "/v1/store/rekey", [ctx](ApiRequest&, Responder r) { ctx.start_rekey(std::move(r)); });

  router.add(http::verb::get, "/metrics", [ctx](ApiRequest&, Responder r) {
    r.send(text_response(http::status::ok, ctx.metrics.render(),
                         "text/plain; version=0.0.4; charset=utf-8"));
  });
}

}  // namespace hiegate::daemon
