// The gateway behind the fuzz targets of the APIs (local_api, peer_api): a
// real Store and AuditLog in a temp dir with a fixed key, the local routes
// as the daemon wires them (clinical and export), standalone (no peers, no
// secretariat), seeded with a physician, an approver, a consent and a
// document. One per process, built on the first input; its state persists
// between inputs, as a running gateway's does; torn down at exit.
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/beast/http.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <thread>

#include "hiegate/crypto/keys.hpp"
#include "hiegate/daemon/audit.hpp"
#include "hiegate/daemon/config.hpp"
#include "hiegate/daemon/gateway.hpp"
#include "hiegate/daemon/http.hpp"
#include "hiegate/daemon/log.hpp"
#include "hiegate/daemon/metrics.hpp"
#include "hiegate/daemon/store.hpp"
#include "export_api.hpp"  // daemon/src: the route wiring the daemon uses
#include "routes.hpp"

namespace hiegate::fuzz {


namespace net = boost::asio;
using namespace hiegate::daemon;

inline void require(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "contract broken: %s\n", what);
    std::abort();
  }
}

constexpr const char* kConfig = R"(
[network]
id = "nishitama"
facility = "1312345678"
[local_api]
listen = ["127.0.0.1:8470"]
[[local_api.tokens]]
name = "ehr"
hash = "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
)";

inline std::filesystem::path make_temp_dir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/hiegate-fuzz-XXXXXX";
  require(::mkdtemp(tmpl.data()) != nullptr, "mkdtemp");
  return tmpl;
}

/// One gateway's request-handling half. Not copyable; lives for the process.
class Fixture {
public:
  Fixture() : dir_(make_temp_dir()), log_(Logger::Sink::stderr_text, Level::critical) {
    auto cfg = parse_config(kConfig, "fuzz");
    require(cfg.ok(), "config");
    config_ = cfg.config;
    const crypto::Bytes master(crypto::kMasterKeySize, 0x5a);
    std::map<std::uint32_t, crypto::ByteView> masters;
    masters.emplace(1U, master);
    auto ring = crypto::KeyRing::from_master_keys(masters);
    require(ring.ok(), "key ring");
    keys_ = std::make_shared<const crypto::KeyRing>(std::move(*ring));
    StoreOptions so;
    so.dir = dir_ / "state";
    auto store = Store::open(std::move(so), keys_);
    require(store.ok(), "store");
    store_ = std::move(*store);
    AuditOptions ao;
    ao.dir = dir_ / "state";
    ao.group_max_wait = std::chrono::milliseconds(0);
    ao.hostname = config_->network.facility;
    auto audit = AuditLog::open(ao, keys_, log_);
    require(audit.ok(), "audit log");
    audit_ = std::move(*audit);
    gateway_.emplace(Gateway{ioc_, log_, metrics_, [c = config_] { return c; },
                             [] { return policy::Time(std::chrono::seconds(1767225600)); },  // 2026-01-01
                             *store_, nullptr, nullptr, nullptr, audit_.get()});
    require(add_clinical_routes(router_, *gateway_).ok(), "clinical routes");
    Router exports;
    (void)add_export_routes(exports, *gateway_);
    router_.add_all(exports, [this](const Router::Route& r) { return audited_export_route(*gateway_, r); });
    runner_ = std::thread([this] { ioc_.run(); });
    seed();
  }

  ~Fixture() {
    work_.reset();
    ioc_.stop();
    runner_.join();
    store_.reset();  // finishes queued work; its callbacks may still audit
    audit_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  Fixture(const Fixture&) = delete;
  Fixture& operator=(const Fixture&) = delete;

  [[nodiscard]] Gateway& gateway() { return *gateway_; }

  /// Dispatches one request as the server would after authentication and
  /// returns its answer (nullopt when no route matches: the server answers
  /// 404/405 itself).
  std::optional<HttpResponse> call(HttpRequest msg) {
    const std::string_view target = msg.target();
    const auto q = target.find('?');
    auto m = router_.match(msg.method(), target.substr(0, q));
    if (m.route == nullptr) return std::nullopt;
    ApiRequest req;
    if (q != std::string_view::npos) req.query = std::string(target.substr(q + 1));
    req.msg = std::move(msg);
    req.route = m.route->pattern;
    req.params = std::move(m.params);
    req.request_id = "fuzz";
    req.token_name = "ehr";
    req.config = config_;
    req.started = std::chrono::steady_clock::now();
    auto answer = std::make_shared<std::promise<HttpResponse>>();
    auto got = answer->get_future();
    Responder responder([answer](HttpResponse res, std::shared_ptr<transport::BodyStream> body) {
      if (!body) return answer->set_value(std::move(res));
      collect(std::move(body), std::make_shared<HttpResponse>(std::move(res)), answer);
    });
    try {
      m.route->handler(req, std::move(responder));
    } catch (const std::exception& e) {
      std::fprintf(stderr, "handler of %s threw: %s\n", req.route.c_str(), e.what());
      std::abort();
    }
    require(got.wait_for(std::chrono::seconds(30)) == std::future_status::ready, "no answer within 30 s");
    return got.get();
  }

private:
  /// A streamed body read into the answer, piece by piece.
  static void collect(std::shared_ptr<transport::BodyStream> body, std::shared_ptr<HttpResponse> res,
                      std::shared_ptr<std::promise<HttpResponse>> answer) {
    body->next([body, res, answer](Result<std::string> piece) {
      require(piece.ok(), "a streamed body failed");
      if (piece->empty()) return answer->set_value(std::move(*res));
      res->body() += *piece;
      collect(body, res, answer);
    });
  }

  /// A registered physician, a consent and a document, so that fuzzed
  /// requests reach past the user and consent checks.
  void seed() {
    auto put = [this](http::verb v, const char* target, const char* body, const char* user = "dr-sato") {
      HttpRequest m(v, target, 11);
      m.set("X-HIE-User", user);
      m.set("X-HIE-Role", "physician");
      m.body() = body;
      m.prepare_payload();
      auto res = call(std::move(m));
      require(res && res->result_int() < 300, "seed request refused");
    };
    // The first admin registers itself, then the others.
    put(http::verb::put, "/v1/users/admin1", R"({"role":"admin","active":true})", "admin1");
    put(http::verb::put, "/v1/users/dr-sato", R"({"role":"physician","department":"naika","active":true})", "admin1");
    put(http::verb::put, "/v1/users/approver1", R"({"role":"approver","active":true})", "admin1");
    put(http::verb::put, "/v1/consents/P-0001", R"({"signed_on":"2025-04-01","scope":"*","form_ref":"F-1"})");
    put(http::verb::put, "/v1/documents/doc-1",
        R"({"patient":"P-0001","type":"discharge-summary","title":"t","created":"2025-05-01T09:00:00Z",)"
        R"("content_type":"text/plain","content_base64":"aGVsbG8="})");
  }

  std::filesystem::path dir_;
  Logger log_;
  Metrics metrics_;
  net::io_context ioc_;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work_{ioc_.get_executor()};
  ConfigPtr config_;
  std::shared_ptr<const crypto::KeyRing> keys_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<AuditLog> audit_;
  std::optional<Gateway> gateway_;
  Router router_;
  std::thread runner_;
};

inline Fixture& fixture() {
  static Fixture f;
  return f;
}

/// A stable error code: snake_case (dots allowed).
inline bool snake_case(const nlohmann::json& v) {
  if (!v.is_string() || v.get_ref<const std::string&>().empty()) return false;
  for (char c : v.get_ref<const std::string&>()) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.')) return false;
  }
  return true;
}

/// The error answer every API gives: {"error":{"code":snake_case,"message":string}}.
inline void require_error_body(std::string_view body) {
  const auto j = nlohmann::json::parse(body, nullptr, false);
  require(j.is_object() && j.contains("error") && j["error"].is_object(), "error body shape");
  require(snake_case(j["error"].value("code", nlohmann::json())), "error code");
  require(j["error"].contains("message") && j["error"]["message"].is_string(), "error message");
}

}  // namespace hiegate::fuzz
