// Black-box tests of the local API of a real hiegated: health, auth, limits.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "integration/gateway.hpp"
#include "integration/state_kit.hpp"

namespace hiegate::test {
namespace {

using namespace std::chrono_literals;

TEST(LocalApi, HealthNeedsNoTokenOnTcpAndUnixSocket) {
  Gateway gw;
  gw.start();
  for (const Endpoint& ep : {gw.tcp(), gw.unix_socket()}) {
    auto r = http_request(ep, "GET", "/v1/health");
    EXPECT_EQ(r.status, 200) << ep.where << " " << r.error;
    EXPECT_EQ(nlohmann::json::parse(r.body)["status"], "ok");
    EXPECT_EQ(r.headers["cache-control"], "no-store");
    EXPECT_FALSE(r.headers["x-request-id"].empty());
  }
  struct stat st {};
  ASSERT_EQ(::stat((gw.dir() / "local.sock").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0660U);
}

TEST(LocalApi, StatusRequiresAValidToken) {
  Gateway gw;
  gw.start();
  const auto none = gw.get("/v1/status", false);
  EXPECT_EQ(none.status, 401);
  const auto err = nlohmann::json::parse(none.body);
  EXPECT_EQ(err["error"]["code"], "unauthorized");
  EXPECT_FALSE(err["error"]["message"].get<std::string>().empty());

  const std::vector<std::string> bads = {"Bearer wrong", "Bearer ", "Basic abc",
                                        std::string("bearer") + kToken,
                                        std::string("Bearer ") + kToken + "x"};
  for (const std::string& bad : bads) {
    const auto r = http_request(gw.tcp(), "GET", "/v1/status", {{"Authorization", bad}});
    EXPECT_EQ(r.status, 401) << bad;
  }
  const auto ok = http_request(gw.unix_socket(), "GET", "/v1/status",
                               {{"Authorization", std::string("Bearer ") + kToken}});
  ASSERT_EQ(ok.status, 200);
  const auto j = nlohmann::json::parse(ok.body);
  EXPECT_EQ(j["facility"], "1312345678");
  EXPECT_EQ(j["network"], "nishitama");
  EXPECT_EQ(j["version"], HIEGATE_VERSION);
  EXPECT_EQ(j["config"]["digest"].get<std::string>().size(), 64U);
  EXPECT_TRUE(j.contains("mode"));
  EXPECT_TRUE(j["uptime_seconds"].is_number());
  EXPECT_EQ(j["memory"]["limit_bytes"], 512ULL << 20);
  EXPECT_EQ(j["memory"]["document_bytes"], 0);
  EXPECT_EQ(j["memory"]["refused"], 0);
  // The token itself never reaches the log.
  EXPECT_EQ(gw.log().find(kToken), std::string::npos);
}

// Users are registered by an administrator who names itself in X-HIE-User
// (利用規程 第3条: every request names its user). A new gateway has none:
// the first admin registers itself, and from then on only an active admin
// may register, change or remove users.
TEST(LocalApi, UserAdministrationIsForAnAdminWhoNamesItself) {
  Gateway gw;
  gw.start();
  const std::string doctor = R"({"role":"physician","department":"内科"})";
  const std::string admin = R"({"role":"admin","department":"情報"})";
  auto code = [](const HttpResult& r) { return nlohmann::json::parse(r.body)["error"]["code"]; };
  auto put = [&](const std::string& id, const std::string& as, const std::string& body) {
    return gw.call("PUT", "/v1/users/" + id, as.empty() ? std::map<std::string, std::string>{}
                                                       : std::map<std::string, std::string>{{"X-HIE-User", as}},
                   body);
  };
  const auto anonymous = put("dr-1", "", doctor);
  EXPECT_EQ(anonymous.status, 400) << anonymous.body;
  EXPECT_EQ(code(anonymous), "invalid_user");
  const auto no_admin = put("dr-1", "dr-1", doctor);  // no admin yet, and not registering one
  EXPECT_EQ(no_admin.status, 403) << no_admin.body;
  EXPECT_EQ(code(no_admin), "admin_required");
  EXPECT_EQ(put("boss", "someone-else", admin).status, 403);  // the first admin names itself

  ASSERT_EQ(put("boss", "boss", admin).status, 200);
  const auto second = put("eve", "eve", admin);  // the way in is closed once an admin exists
  EXPECT_EQ(second.status, 403) << second.body;
  EXPECT_EQ(code(second), "unknown_user");
  ASSERT_EQ(put("dr-1", "boss", doctor).status, 200);
  const auto by_doctor = put("dr-2", "dr-1", doctor);
  EXPECT_EQ(by_doctor.status, 403) << by_doctor.body;
  EXPECT_EQ(code(by_doctor), "role_not_allowed");
  EXPECT_EQ(gw.call("DELETE", "/v1/users/dr-1", {{"X-HIE-User", "dr-1"}}).status, 403);
  EXPECT_EQ(gw.call("DELETE", "/v1/users/dr-1", {}).status, 400);
  EXPECT_EQ(gw.call("GET", "/v1/users/dr-1").status, 200);  // nothing changed
  EXPECT_EQ(gw.call("DELETE", "/v1/users/dr-1", {{"X-HIE-User", "boss"}}).status, 200);
  EXPECT_EQ(gw.call("GET", "/v1/users/dr-1").status, 404);
  // The last active administrator is neither removed, demoted nor
  // deactivated: the first-admin way in stays closed once users exist.
  for (const auto& change : {R"({"role":"admin","active":false})", R"({"role":"physician"})"}) {
    const auto last = put("boss", "boss", change);
    EXPECT_EQ(last.status, 409) << last.body;
    EXPECT_EQ(code(last), "last_admin");
  }
  EXPECT_EQ(code(gw.call("DELETE", "/v1/users/boss", {{"X-HIE-User", "boss"}})), "last_admin");
  // An admin made inactive can no longer administer.
  ASSERT_EQ(put("boss-2", "boss", admin).status, 200);
  ASSERT_EQ(put("boss", "boss-2", R"({"role":"admin","active":false})").status, 200);
  EXPECT_EQ(put("dr-3", "boss", doctor).status, 403);
  EXPECT_EQ(put("dr-3", "boss-2", doctor).status, 200);
  EXPECT_EQ(code(put("boss-2", "boss-2", doctor)), "last_admin");
  // Nobody may register a first admin into a registry that holds users.
  const auto intruder = put("mallory", "mallory", admin);
  EXPECT_EQ(intruder.status, 403) << intruder.body;
  EXPECT_EQ(code(intruder), "unknown_user");
}

// A registry whose only admin cannot be read (a damaged row) is not an empty
// registry: the first-admin registration stays closed (fail closed).
TEST(LocalApi, AnUnreadableAdminDoesNotReopenTheFirstAdminRegistration) {
  Gateway gw;
  gw.start();
  const std::string admin = R"({"role":"admin"})";
  ASSERT_EQ(gw.call("PUT", "/v1/users/boss", {{"X-HIE-User", "boss"}}, admin).status, 200);
  ASSERT_EQ(gw.stop(), 0);
  state::flip_byte(gw.dir() / "state" / "hiegate.db", "users", "sealed", "1", 40);
  gw.start();
  const auto r = gw.call("PUT", "/v1/users/mallory", {{"X-HIE-User", "mallory"}}, admin);
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_EQ(nlohmann::json::parse(r.body)["error"]["code"], "unknown_user");
  EXPECT_NE(gw.call("GET", "/v1/users/mallory").status, 200);
}

// Every answer, also one refused before any route ran, names its request
// (the client's X-Request-Id when valid) and may not be cached.
void expect_common_headers(HttpResult r, const std::string& id = "") {
  EXPECT_EQ(r.headers["cache-control"], "no-store") << r.status;
  if (!id.empty()) {
    EXPECT_EQ(r.headers["x-request-id"], id) << r.status;
  } else {
    EXPECT_EQ(r.headers["x-request-id"].size(), 16U) << r.status;
  }
}

TEST(LocalApi, UnknownRoutesAndMethods) {
  Gateway gw;
  gw.start();
  EXPECT_EQ(gw.get("/v1/nothing").status, 404);
  EXPECT_EQ(nlohmann::json::parse(gw.get("/v1/nothing").body)["error"]["code"], "not_found");
  expect_common_headers(gw.get("/v1/nothing"));
  expect_common_headers(http_request(gw.tcp(), "GET", "/v1/nothing", {{"X-Request-Id", "ehr-42"}}), "ehr-42");
  const auto r = http_request(gw.tcp(), "DELETE", "/v1/status",
                              {{"Authorization", std::string("Bearer ") + kToken}, {"X-Request-Id", "ehr-43"}});
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(nlohmann::json::parse(r.body)["error"]["code"], "method_not_allowed");
  expect_common_headers(r, "ehr-43");
  const auto u = http_request(gw.tcp(), "GET", "/v1/status", {{"X-Request-Id", "bad id!"}});
  EXPECT_EQ(u.status, 401);
  expect_common_headers(u);
}

TEST(LocalApi, MetricsInPrometheusFormat) {
  Gateway gw;
  gw.start();
  ASSERT_EQ(gw.get("/v1/health", false).status, 200);
  ASSERT_EQ(gw.get("/v1/status", false).status, 401);
  auto m = gw.get("/metrics");
  ASSERT_EQ(m.status, 200);
  EXPECT_EQ(m.headers["content-type"].rfind("text/plain; version=0.0.4", 0), 0U);
  EXPECT_NE(m.body.find("hiegate_http_requests_total{route=\"/v1/health\",status=\"200\"} 1"),
            std::string::npos)
      << m.body;
  EXPECT_NE(m.body.find("hiegate_http_requests_total{route=\"/v1/status\",status=\"401\"} 1"),
            std::string::npos);
  EXPECT_NE(m.body.find("hiegate_http_request_duration_seconds_bucket{route=\"/v1/health\",le=\"+Inf\"} 1"),
            std::string::npos);
  EXPECT_NE(m.body.find("hiegate_http_open_connections "), std::string::npos);
  EXPECT_EQ(gw.get("/metrics", false).status, 401);
}

TEST(LocalApi, GarbageBytesGet400AndTheDaemonKeepsServing) {
  Gateway gw;
  gw.start();
  for (const std::string& junk : std::vector<std::string>{std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11),
                                 std::string("GET / HTTP/9.9\r\n\r\n"),
                                 std::string("\r\n\r\n\r\n"), std::string(4000, '\xff') + "\r\n\r\n",
                                 std::string("GET /v1/health HTTP/1.1\r\nHost x\r\n\r\n")}) {
    RawConn c(gw.tcp());
    ASSERT_TRUE(c.ok());
    c.send(junk);
    const std::string res = c.read_all(3s);
    EXPECT_EQ(status_of(res), 400) << res;
    EXPECT_NE(res.find("\r\nX-Request-Id: "), std::string::npos) << res;
    EXPECT_NE(res.find("\r\nCache-Control: no-store\r\n"), std::string::npos) << res;
  }
  EXPECT_EQ(gw.get("/v1/health", false).status, 200);
}

TEST(LocalApi, HugeHeaderGets431) {
  Gateway gw;
  gw.start();
  RawConn c(gw.tcp());
  std::string req = "GET /v1/health HTTP/1.1\r\nHost: x\r\nX-Big: ";
  c.send(req);
  // 10 MB of header: the server answers 431 after its limit and stops reading.
  const std::string chunk(64 * 1024, 'a');
  for (int i = 0; i < 160 && c.send(chunk); ++i) {
  }
  const std::string res = c.read_all(5s);
  EXPECT_EQ(status_of(res), 431) << res.substr(0, 200);
  EXPECT_NE(res.find("headers_too_large"), std::string::npos);
  EXPECT_EQ(gw.get("/v1/health", false).status, 200);
}

TEST(LocalApi, BodyOverTheLimitGets413) {
  Gateway gw("max_body_bytes = 4096\n");
  gw.start();
  const auto r = http_request(gw.tcp(), "GET", "/v1/status",
                              {{"Authorization", std::string("Bearer ") + kToken}},
                              std::string(10000, 'x'));
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(nlohmann::json::parse(r.body)["error"]["code"], "payload_too_large");
  expect_common_headers(r);
  // Unauthenticated large bodies are refused before being read.
  const auto u = http_request(gw.tcp(), "GET", "/v1/status", {}, std::string(10000, 'x'));
  EXPECT_EQ(u.status, 401);
  EXPECT_EQ(gw.get("/v1/health", false).status, 200);
}

TEST(LocalApi, OneBytePerSecondClientGets408) {
  Gateway gw("request_timeout = \"1500ms\"\n");
  gw.start();
  RawConn slow(gw.tcp());
  const std::string req = "GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n";
  const auto start = std::chrono::steady_clock::now();
  std::string got;
  for (std::size_t i = 0; i < req.size() && got.empty(); ++i) {
    slow.send(std::string(1, req[i]));
    got = slow.read_all(1s);  // one byte per second
    // Meanwhile the daemon serves others.
    if (i == 1) {
      EXPECT_EQ(gw.get("/v1/health", false).status, 200);
    }
  }
  EXPECT_EQ(status_of(got), 408) << got;
  EXPECT_NE(got.find("request_timeout"), std::string::npos);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 6s);
}

TEST(LocalApi, IdleKeepAliveConnectionsAreClosed) {
  Gateway gw("idle_timeout = \"300ms\"\n");
  gw.start();
  RawConn c(gw.tcp());
  c.send("GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(status_of(c.read_all(500ms)), 200);
  EXPECT_TRUE(c.closed_by_peer(3s));
}

TEST(LocalApi, TwoThousandIdleConnectionsAreBoundedAndNeverCrash) {
  rlimit lim{};
  ::getrlimit(RLIMIT_NOFILE, &lim);
  if (lim.rlim_cur < 4200 && lim.rlim_max >= 4200) {
    lim.rlim_cur = 4200;
    ::setrlimit(RLIMIT_NOFILE, &lim);
  }
  if (lim.rlim_cur < 2100) GTEST_SKIP() << "needs 2100 file descriptors";
  Gateway gw("max_connections = 200\nidle_timeout = \"2s\"\n");
  gw.start();
  std::vector<std::unique_ptr<RawConn>> conns;
  for (int i = 0; i < 2000; ++i) {
    conns.push_back(std::make_unique<RawConn>(gw.tcp()));
    ASSERT_TRUE(conns.back()->ok()) << i;
  }
  // Over the limit: refused at once with 503, not queued.
  const auto over = gw.get("/v1/health", false);
  EXPECT_EQ(over.status, 503);
  EXPECT_NE(over.body.find("overloaded"), std::string::npos);
  expect_common_headers(over);
  // The daemon is alive; once idle connections time out it serves again.
  EXPECT_TRUE(gw.process().running());
  EXPECT_TRUE(eventually([&] { return gw.get("/v1/health", false).status == 200; }, 10s));
  conns.clear();
  EXPECT_TRUE(gw.process().running());
}

TEST(LocalApi, KeepAliveServesSeveralRequestsOnOneConnection) {
  Gateway gw;
  gw.start();
  RawConn c(gw.tcp());
  c.send("GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\nGET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n"
         "GET /v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  const std::string res = c.read_all(3s);
  std::size_t n = 0;
  for (std::size_t p = 0; (p = res.find("HTTP/1.1 200", p)) != std::string::npos; ++p) ++n;
  EXPECT_EQ(n, 3U) << res;
}

}  // namespace
}  // namespace hiegate::test
