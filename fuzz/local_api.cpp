// Fuzz target: the local API's request handling behind the server — the real
// clinical and export routes on a real Store and AuditLog (temp dir, fixed
// key, standalone: no peers, no secretariat), as the daemon wires them.
//
// Input: "METHOD TARGET HTTP/1.1\r\n" headers "\r\n\r\n" body; the harness adds
// Content-Length, so that mutating the body keeps the message whole. Each
// input is dispatched like LocalApiServer does after authentication (token
// "ehr") and the answer is awaited.
// Contract checked: no crash, sanitizer report or exception; every request
// gets exactly one answer within 30 s; the answer serialises to a
// well-formed HTTP/1.1 response; never 500; every 4xx/5xx carries a JSON
// body {"error":{"code":snake_case,"message":string}}; a JSON 2xx body parses.
//
// The fixture (one per process, built on the first input) keeps its state
// between inputs, as a running gateway does; it is torn down at exit and its
// temp dir removed.
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

namespace {

namespace net = boost::asio;
using namespace hiegate;
using namespace hiegate::daemon;

void require(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "local_api contract broken: %s\n", what);
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

std::filesystem::path make_temp_dir() {
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
    Responder responder([answer](HttpResponse res) { answer->set_value(std::move(res)); });
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

Fixture& fixture() {
  static Fixture f;
  return f;
}

/// The fuzz input as a request, or nullopt if it is not one.
std::optional<HttpRequest> parse_input(std::string_view in) {
  const auto end = in.find("\r\n\r\n");
  if (end == std::string_view::npos) return std::nullopt;
  const std::string_view body = in.substr(end + 4);
  std::string wire(in.substr(0, end + 2));
  wire += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
  wire += body;
  http::request_parser<http::string_body> parser;
  parser.header_limit(16 * 1024);
  parser.body_limit(1024 * 1024);
  boost::beast::error_code ec;
  parser.eager(true);
  const std::size_t used = parser.put(net::buffer(wire), ec);
  if (ec || !parser.is_done() || used != wire.size()) return std::nullopt;
  return parser.release();
}

bool snake_case(const nlohmann::json& v) {
  if (!v.is_string() || v.get_ref<const std::string&>().empty()) return false;
  for (char c : v.get_ref<const std::string&>()) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.')) return false;
  }
  return true;
}

void check_answer(HttpResponse res) {
  const unsigned status = res.result_int();
  require(status >= 200 && status <= 599, "status out of range");
  require(status != 500, "500 internal error");
  const auto ct = res[http::field::content_type];
  const bool json = std::string_view(ct.data(), ct.size()).starts_with("application/json");
  if (status >= 400) {
    require(json, "error without a JSON content type");
    const auto j = nlohmann::json::parse(res.body(), nullptr, false);
    require(j.is_object() && j.contains("error") && j["error"].is_object(), "error body shape");
    require(snake_case(j["error"].value("code", nlohmann::json())), "error code");
    require(j["error"].contains("message") && j["error"]["message"].is_string(), "error message");
  } else if (json) {
    require(!nlohmann::json::parse(res.body(), nullptr, false).is_discarded(), "2xx JSON body");
  }
  // What goes on the wire must parse back as one whole response.
  res.keep_alive(true);
  res.prepare_payload();
  std::ostringstream out;
  out << res;
  const std::string wire = out.str();
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  parser.eager(true);
  boost::beast::error_code ec;
  const std::size_t used = parser.put(net::buffer(wire), ec);
  require(!ec && parser.is_done() && used == wire.size(), "response does not serialise to HTTP/1.1");
  require(parser.get().result_int() == status, "status changed on the wire");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto req = parse_input(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!req) return 0;
  auto res = fixture().call(std::move(*req));
  if (res) check_answer(std::move(*res));
  return 0;
}
