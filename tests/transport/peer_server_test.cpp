// The peer HTTPS server: curl as an independent client, then hiegate's own
// pooled client (identity pinning, keep-alive, reload, breaker).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <future>
#include <mutex>
#include <thread>

#include "hiegate/transport/peer_client.hpp"
#include "hiegate/transport/peer_server.hpp"
#include "support/process.hpp"
#include "tls_fixture.hpp"

namespace hiegate::transport::testing {
namespace {

constexpr std::size_t kStreamedSize = 1'000'003;
std::string streamed_bytes(std::size_t from, std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (from + i) % 23);
  return s;
}

class PeerServerTest : public ::testing::Test {
protected:
  void SetUp() override {
    store = pki.store(pki.facility_dir(0));
    ctx = TlsContext::create(store, TlsSettings{});
    start_server({});
  }
  void TearDown() override {
    if (server) server->stop();
    work.reset();
    ioc.stop();
    if (thread.joinable()) thread.join();
  }
  void start_server(PeerServerOptions opts) {
    opts.address = "127.0.0.1";
    opts.port = 0;
    if (opts.handshake_timeout == PeerServerOptions{}.handshake_timeout)
      opts.handshake_timeout = std::chrono::milliseconds(500);
    std::vector<PeerRoute> routes = {
        {"GET", "/peer/v1/whoami", Caller::any,
         [](const PeerRequest& r) {
           return PeerResponse::json(200, nlohmann::json{{"kind", r.peer.kind == PeerIdentity::Kind::secretariat
                                                                       ? "secretariat" : "facility"},
                                                         {"facility", r.peer.facility}}.dump());
         },
         {}},
        {"PUT", "/peer/v1/directives", Caller::secretariat,
         [](const PeerRequest& r) { return PeerResponse::json(200, R"({"accepted":)" + std::to_string(r.body.size()) + "}"); },
         {}},
        // Asynchronous: answered later from another thread.
        {"GET", "/peer/v1/documents/*", Caller::facility, {},
         [](const PeerRequest& r, PeerReply reply) {
           std::thread([path = r.path, reply = std::move(reply)] {
             std::this_thread::sleep_for(std::chrono::milliseconds(20));
             reply(PeerResponse::json(200, R"({"path":")" + path + "\"}"));
           }).detach();
         }},
        // A body above the 64 KiB the client reads without asking hold_body.
        {"GET", "/peer/v1/large", Caller::any,
         [](const PeerRequest&) { return PeerResponse::json(200, "\"" + std::string(100'000, 'x') + "\""); }, {}},
        // A body written piece by piece (BodyStream), 100,000 bytes a piece.
        {"GET", "/peer/v1/streamed", Caller::any, {},
         [](const PeerRequest&, PeerReply reply) {
           auto body = std::make_shared<BodyStream>();
           body->size = kStreamedSize;
           auto sent = std::make_shared<std::size_t>(0);
           body->next = [sent](BodyStream::Piece piece) {
             const std::size_t n = std::min<std::size_t>(100'000, kStreamedSize - *sent);
             std::string s = streamed_bytes(*sent, n);
             *sent += n;
             piece(std::move(s));
           };
           PeerResponse res;
           res.content_type = "application/octet-stream";
           res.stream = std::move(body);
           reply(std::move(res));
         }},
        // Asynchronous handler that never answers: the caller gets 500.
        {"GET", "/peer/v1/dropped", Caller::any, {}, [](const PeerRequest&, PeerReply) {}},
        // Answered when the test says so (held_).
        {"GET", "/peer/v1/held", Caller::any, {},
         [this](const PeerRequest&, PeerReply reply) {
           std::lock_guard lk(held_mu_);
           held_ = std::move(reply);
         }},
    };
    server = std::make_unique<PeerServer>(ioc, ctx, opts, routes);
    ASSERT_TRUE(server->start());
    if (!thread.joinable()) thread = std::thread([this] { ioc.run(); });
  }

  struct CurlResult {
    int status = 0;
    std::string body;
  };
  CurlResult curl(const fs::path& who, const std::string& method, const std::string& path,
                  const std::string& data = "", const std::vector<std::string>& extra = {}) {
    const auto out = pki.dir / "curl.out";
    std::vector<std::string> argv = {"curl", "-sS", "-k", "--max-time", "5", "-X", method, "-o", out.string(),
                                     "-w", "%{http_code}"};
    if (!who.empty()) argv.insert(argv.end(), {"--cert", (who / "cert.pem").string(), "--key", (who / "key.pem").string()});
    if (!data.empty()) argv.insert(argv.end(), {"--data-binary", "@" + (pki.dir / "curl.in").string()});
    if (!data.empty()) pki.dir.write("curl.in", data);
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.push_back("https://127.0.0.1:" + std::to_string(server->port()) + path);
    const auto log = pki.dir / "curl.code";
    Child c(argv, "", log);
    c.wait();
    CurlResult r;
    const std::string code = test::read_file(log);
    r.status = std::atoi(code.substr(code.size() >= 3 ? code.size() - 3 : 0).c_str());
    if (fs::exists(out)) r.body = test::read_file(out);
    fs::remove(out);
    return r;
  }

  static Result<PeerResponse> request(PeerClient& client, const PeerAddress& to, OutboundRequest req) {
    std::promise<Result<PeerResponse>> p;
    client.async_request(to, std::move(req), [&p](Result<PeerResponse> r) { p.set_value(std::move(r)); });
    return p.get_future().get();
  }
  Result<PeerResponse> request(PeerClient& client, const std::string& facility, OutboundRequest req) {
    return request(client, PeerAddress{facility, "127.0.0.1", server->port()}, std::move(req));
  }

  std::mutex held_mu_;
  PeerReply held_;  ///< the reply of a /peer/v1/held request in progress
  Pki pki;
  std::shared_ptr<CredentialStore> store;
  std::shared_ptr<TlsContext> ctx;
  asio::io_context ioc;
  asio::executor_work_guard<asio::io_context::executor_type> work{ioc.get_executor()};
  std::thread thread;
  std::unique_ptr<PeerServer> server;
};

TEST_F(PeerServerTest, HealthForFacilityAndSecretariat) {
  auto r = curl(pki.facility_dir(1), "GET", "/peer/v1/health");
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find(pki.facility(1).uri()), std::string::npos) << r.body;
  r = curl(pki.net.secretariat_dir, "GET", "/peer/v1/health");
  EXPECT_EQ(r.status, 200);
}

TEST_F(PeerServerTest, IdentityComesFromCertificateNotHeaders) {
  auto r = curl(pki.facility_dir(1), "GET", "/peer/v1/whoami", "", {"-H", "X-HIE-Facility: 1399999999"});
  ASSERT_EQ(r.status, 200);
  auto j = nlohmann::json::parse(r.body);
  EXPECT_EQ(j["kind"], "facility");
  EXPECT_EQ(j["facility"], pki.net.facility_codes[1]);
}

TEST_F(PeerServerTest, FacilityOnSecretariatRouteIsForbidden) {
  auto r = curl(pki.facility_dir(1), "PUT", "/peer/v1/directives", "{}");
  EXPECT_EQ(r.status, 403);
  auto j = nlohmann::json::parse(r.body);
  EXPECT_EQ(j["error"]["code"], "forbidden");
  EXPECT_TRUE(j["error"]["message"].is_string());
  r = curl(pki.net.secretariat_dir, "PUT", "/peer/v1/directives", "{\"x\":1}");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"accepted":7})");
  r = curl(pki.net.secretariat_dir, "GET", "/peer/v1/documents/abc");  // facility-only
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(server->stats().forbidden, 2u);
}

TEST_F(PeerServerTest, AsynchronousHandlersAnswerFromAnotherThread) {
  auto r = curl(pki.facility_dir(1), "GET", "/peer/v1/documents/abc");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(nlohmann::json::parse(r.body)["path"], "/peer/v1/documents/abc");
  r = curl(pki.facility_dir(1), "GET", "/peer/v1/dropped");
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(nlohmann::json::parse(r.body)["error"]["code"], "internal_error");
}

TEST_F(PeerServerTest, UnknownPathAndMethod) {
  EXPECT_EQ(curl(pki.facility_dir(1), "GET", "/nope").status, 404);
  EXPECT_EQ(curl(pki.facility_dir(1), "DELETE", "/peer/v1/health").status, 405);
}

TEST_F(PeerServerTest, RefusedHandshakesAreReported) {
  server->stop();
  std::mutex mu;
  std::vector<Error> reported;
  PeerServerOptions opts;
  opts.on_handshake_failure = [&](const std::string& remote, const Error& why) {
    std::lock_guard lock(mu);
    EXPECT_EQ(remote.rfind("127.0.0.1:", 0), 0u) << remote;
    reported.push_back(why);
  };
  start_server(opts);
  EXPECT_EQ(curl({}, "GET", "/peer/v1/health").status, 0);  // no client certificate
  Pki other;
  EXPECT_EQ(curl(other.facility_dir(0), "GET", "/peer/v1/health").status, 0);  // another CA
  auto count = [&] {
    std::lock_guard lock(mu);
    return reported.size();
  };
  for (int i = 0; i < 400 && count() < 2; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  std::lock_guard lock(mu);
  ASSERT_EQ(reported.size(), 2u);
  EXPECT_EQ(reported[1].code, "certificate_invalid");
  // The same reasons are counted in the stats (for /metrics).
  const auto st = server->stats();
  EXPECT_EQ(st.handshake_failures, 2u);
  EXPECT_EQ(st.handshake_failures_by_reason.at("certificate_invalid"), 1u);
  EXPECT_EQ(st.handshake_failures_by_reason.at(reported[0].code), 1u);
  EXPECT_EQ(st.accepted, 2u);
  EXPECT_EQ(st.requests, 0u);
  EXPECT_EQ(st.bytes_received, 0u);
}

TEST_F(PeerServerTest, BodyAndHeaderLimits) {
  server->stop();
  PeerServerOptions opts;
  opts.max_body_bytes = 1024;
  opts.max_header_bytes = 2048;
  start_server(opts);
  EXPECT_EQ(curl(pki.net.secretariat_dir, "PUT", "/peer/v1/directives", std::string(4096, 'a')).status, 413);
  EXPECT_EQ(curl(pki.facility_dir(1), "GET", "/peer/v1/health", "", {"-H", "X-Big: " + std::string(4096, 'b')}).status,
            431);
}

TEST_F(PeerServerTest, MaxConnections) {
  server->stop();
  PeerServerOptions opts;
  opts.max_connections = 1;
  start_server(opts);
  asio::io_context local;
  asio::ip::tcp::socket stall(local);
  stall.connect({asio::ip::make_address("127.0.0.1"), server->port()});  // holds the only slot
  for (int i = 0; i < 100 && server->active_connections() == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(curl(pki.facility_dir(1), "GET", "/peer/v1/health").status, 0);
  EXPECT_GE(server->stats().over_capacity, 1u);
}

// Fair shares: one facility cannot hold every connection. Its connection
// beyond the share is answered 503 too_many_connections and closed; other
// facilities and the secretariat are still served.
TEST_F(PeerServerTest, OneFacilityCannotHoldMoreThanItsShareOfConnections) {
  server->stop();
  PeerServerOptions opts;
  opts.max_connections_per_facility = 1;
  start_server(opts);
  PeerClient client(ioc, TlsContext::create(pki.store(pki.facility_dir(1)), TlsSettings{}));
  const std::string code = pki.net.facility_codes[0];
  auto held = request(client, code, {"GET", "/peer/v1/whoami", {}, "", ""});  // stays open, keep-alive
  ASSERT_TRUE(held) << held.error().message;
  EXPECT_EQ(held->status, 200u);

  auto second = curl(pki.facility_dir(1), "GET", "/peer/v1/whoami");
  EXPECT_EQ(second.status, 503);
  EXPECT_EQ(nlohmann::json::parse(second.body)["error"]["code"], "too_many_connections");
  EXPECT_EQ(server->stats().over_facility_limit, 1u);
  EXPECT_EQ(curl(pki.facility_dir(0), "GET", "/peer/v1/whoami").status, 200);   // another facility
  EXPECT_EQ(curl(pki.net.secretariat_dir, "GET", "/peer/v1/whoami").status, 200);  // never held to it
  // The held connection still serves; once it is gone, the share is free again.
  auto again = request(client, code, {"GET", "/peer/v1/whoami", {}, "", ""});
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 200u);
  EXPECT_EQ(client.state(code).open, 1u);
}

// Requests per second per facility: a token bucket over all its connections.
// Past the burst the answer is 429 rate_limited with Retry-After, and the
// connection stays usable; other facilities and the secretariat are not
// affected.
TEST_F(PeerServerTest, OneFacilityCannotTakeMoreThanItsShareOfRequests) {
  server->stop();
  PeerServerOptions opts;
  opts.facility_requests_per_second = 0.01;  // one token per 100 s: none comes back during the test
  opts.facility_request_burst = 2;
  start_server(opts);
  EXPECT_EQ(curl(pki.facility_dir(1), "GET", "/peer/v1/whoami").status, 200);
  EXPECT_EQ(curl(pki.facility_dir(1), "GET", "/peer/v1/whoami").status, 200);
  const auto headers = pki.dir / "headers.txt";
  auto limited = curl(pki.facility_dir(1), "GET", "/peer/v1/whoami", "", {"-D", headers.string()});
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(nlohmann::json::parse(limited.body)["error"]["code"], "rate_limited");
  const std::string h = test::read_file(headers);
  const auto at = h.find("Retry-After: ");
  ASSERT_NE(at, std::string::npos) << h;
  const int retry = std::atoi(h.c_str() + at + 13);
  EXPECT_GE(retry, 90);  // a whole token at 0.01/s
  EXPECT_LE(retry, 100);
  EXPECT_EQ(server->stats().rate_limited, 1u);
  EXPECT_EQ(curl(pki.facility_dir(0), "GET", "/peer/v1/whoami").status, 200);
  EXPECT_EQ(curl(pki.facility_dir(0), "GET", "/peer/v1/whoami").status, 200);
  EXPECT_EQ(curl(pki.net.secretariat_dir, "GET", "/peer/v1/whoami").status, 200);
  EXPECT_EQ(curl(pki.net.secretariat_dir, "GET", "/peer/v1/whoami").status, 200);
  EXPECT_EQ(curl(pki.net.secretariat_dir, "GET", "/peer/v1/whoami").status, 200);
  // The same facility through a kept-alive connection: limited too (the
  // bucket is the facility's, not the connection's), and the connection
  // serves on.
  PeerClient client(ioc, TlsContext::create(pki.store(pki.facility_dir(1)), TlsSettings{}));
  const std::string code = pki.net.facility_codes[0];
  for (int i = 0; i < 2; ++i) {
    auto r = request(client, code, {"GET", "/peer/v1/whoami", {}, "", ""});
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->status, 429u);
  }
  EXPECT_EQ(client.state(code).open, 1u);
  EXPECT_EQ(server->stats().rate_limited, 3u);
}

// Handshakes in progress per address: connections that never start their
// handshake cannot take every slot from one address.
TEST_F(PeerServerTest, OneAddressCannotHoldMoreThanItsShareOfHandshakes) {
  server->stop();
  PeerServerOptions opts;
  opts.max_handshakes_per_address = 2;
  opts.handshake_timeout = std::chrono::seconds(30);
  start_server(opts);
  asio::io_context local;
  std::vector<asio::ip::tcp::socket> stalls;
  for (int i = 0; i < 2; ++i) {
    stalls.emplace_back(local);
    stalls.back().connect({asio::ip::make_address("127.0.0.1"), server->port()});
  }
  for (int i = 0; i < 200 && server->active_connections() < 2; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ASSERT_EQ(server->active_connections(), 2u);
  EXPECT_EQ(curl(pki.facility_dir(1), "GET", "/peer/v1/health").status, 0);  // closed before any handshake
  EXPECT_EQ(server->stats().over_address_limit, 1u);
  // An address's share comes back as its handshakes end.
  for (auto& s : stalls) s.close();
  for (int i = 0; i < 200 && server->active_connections() > 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(curl(pki.facility_dir(1), "GET", "/peer/v1/health").status, 200);
  EXPECT_EQ(curl(pki.facility_dir(0), "GET", "/peer/v1/health").status, 200);
}

// SIGTERM's graceful end: no new connections, an idle keep-alive connection
// closed at once, a request in progress answered before its connection
// closes, then `done`.
TEST_F(PeerServerTest, DrainAnswersTheRequestInProgressThenEnds) {
  PeerClient idle_client(ioc, TlsContext::create(pki.store(pki.facility_dir(1)), TlsSettings{}));
  PeerClient busy_client(ioc, TlsContext::create(pki.store(pki.facility_dir(1)), TlsSettings{}));
  const std::string code = pki.net.facility_codes[0];
  ASSERT_TRUE(request(idle_client, code, {"GET", "/peer/v1/whoami", {}, "", ""}));
  EXPECT_EQ(server->active_connections(), 1u);
  std::promise<Result<PeerResponse>> answer;
  busy_client.async_request(PeerAddress{code, "127.0.0.1", server->port()}, {"GET", "/peer/v1/held", {}, "", ""},
                            [&answer](Result<PeerResponse> r) { answer.set_value(std::move(r)); });
  ASSERT_TRUE(test::eventually([&] {
    std::lock_guard lk(held_mu_);
    return static_cast<bool>(held_);
  }));

  std::promise<void> drained;
  server->drain([&drained] { drained.set_value(); });
  auto done = drained.get_future();
  // The idle connection goes at once; the busy one stays until answered.
  ASSERT_TRUE(test::eventually([&] { return server->active_connections() == 1; }));
  EXPECT_EQ(done.wait_for(std::chrono::milliseconds(100)), std::future_status::timeout);
  EXPECT_EQ(curl(pki.facility_dir(1), "GET", "/peer/v1/health").status, 0);  // no longer accepting
  {
    std::lock_guard lk(held_mu_);
    held_(PeerResponse::json(200, R"({"held":true})"));
    held_ = nullptr;  // its session must not outlive the io_context
  }
  auto r = answer.get_future().get();
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 200u);
  EXPECT_EQ(r->body, R"({"held":true})");
  EXPECT_EQ(done.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_EQ(server->active_connections(), 0u);
}

TEST_F(PeerServerTest, StalledHandshakeIsDropped) {
  server->stop();
  PeerServerOptions opts;
  opts.handshake_timeout = std::chrono::milliseconds(100);
  std::promise<Error> why;
  opts.on_handshake_failure = [&why](const std::string&, const Error& e) { why.set_value(e); };
  start_server(opts);
  asio::io_context local;
  asio::ip::tcp::socket stall(local);
  stall.connect({asio::ip::make_address("127.0.0.1"), server->port()});
  auto f = why.get_future();
  ASSERT_EQ(f.wait_for(std::chrono::seconds(3)), std::future_status::ready);
  EXPECT_EQ(f.get().code, "timeout");
  for (int i = 0; i < 200 && server->active_connections() > 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(server->active_connections(), 0u);
}

TEST_F(PeerServerTest, ClientPoolReusesConnectionAndPinsIdentity) {
  auto client_store = pki.store(pki.facility_dir(1));
  PeerClient client(ioc, TlsContext::create(client_store, TlsSettings{}));
  const std::string server_code = pki.net.facility_codes[0];
  for (int i = 0; i < 3; ++i) {
    auto r = request(client, server_code, {"GET", "/peer/v1/whoami", {}, "", ""});
    ASSERT_TRUE(r) << r.error().code << ": " << r.error().message;
    EXPECT_EQ(r->status, 200u);
    EXPECT_NE(r->body.find(pki.net.facility_codes[1]), std::string::npos);
  }
  EXPECT_EQ(client.state(server_code).open, 1u);  // keep-alive: one connection for three requests
  EXPECT_EQ(server->stats().accepted, 1u);

  // Calling the same address as another facility: the server proves 1300000001, not 1312345678.
  auto wrong = request(client, "1312345678", {"GET", "/peer/v1/health", {}, "", ""});
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().code, "wrong_peer");
}

// A CRL reload must not leave a revoked peer its open connections: after
// drop_connections() the pooled keep-alive connection is closed, the client's
// retry handshakes again and is refused.
TEST_F(PeerServerTest, DroppedConnectionsAreValidatedAgainAfterACrlReload) {
  auto client_store = pki.store(pki.facility_dir(1));
  PeerClient client(ioc, TlsContext::create(client_store, TlsSettings{}));
  const std::string code = pki.net.facility_codes[0];
  ASSERT_TRUE(request(client, code, {"GET", "/peer/v1/whoami", {}, "", ""}));
  ASSERT_EQ(client.state(code).open, 1u);
  const auto serial = pki::serial_hex(test::read_file(pki.facility_dir(1) / "cert.pem"));
  ASSERT_TRUE(serial);
  ASSERT_TRUE(pki::ca_revoke(pki.ca_dir(), *serial, Clock::now()));
  ASSERT_TRUE(store->reload(Clock::now()));
  // Without the drop the old connection, validated before the revocation,
  // would keep answering.
  server->drop_connections();
  for (int i = 0; i < 250 && server->active_connections() != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // the io thread closes it
  }
  EXPECT_EQ(server->active_connections(), 0u);
  auto r = request(client, code, {"GET", "/peer/v1/whoami", {}, "", ""});
  EXPECT_FALSE(r && r->status == 200u) << "a revoked peer was served on its old connection";
  EXPECT_GE(server->stats().handshake_failures, 1u) << "the retry's handshake is refused";
}

/// A port on 127.0.0.1 where nothing listens.
std::uint16_t unreachable_port(asio::io_context& ioc) {
  asio::ip::tcp::acceptor a(ioc, {asio::ip::make_address("127.0.0.1"), 0});
  return a.local_endpoint().port();
}

TEST_F(PeerServerTest, ClientBreakerOpensAfterFailures) {
  PeerClientOptions opts;
  opts.max_retries = 1;
  opts.backoff_base = std::chrono::milliseconds(1);
  opts.breaker_threshold = 2;
  opts.connect_timeout = std::chrono::milliseconds(500);
  PeerClient client(ioc, TlsContext::create(pki.store(pki.facility_dir(1)), TlsSettings{}), opts);
  const PeerAddress dead{"1300000009", "127.0.0.1", unreachable_port(ioc)};
  auto r = request(client, dead, {"GET", "/peer/v1/health", {}, "", ""});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "connect_failed");
  EXPECT_EQ(client.state("1300000009").consecutive_failures, 2);  // first try + one retry
  EXPECT_TRUE(client.state("1300000009").breaker_open);
  auto r2 = request(client, dead, {"GET", "/peer/v1/health", {}, "", ""});
  ASSERT_FALSE(r2);
  EXPECT_EQ(r2.error().code, "peer_unavailable");
}

// hold_body is asked, from a response's headers, before a body above 64 KiB
// is read: a refusal fails the request with `overloaded` at once (no retry,
// no breaker count: the peer did nothing wrong); what it returns is kept in
// the response. The secretariat's answers are never refused.
TEST_F(PeerServerTest, ClientAsksBeforeReadingALargeBody) {
  std::mutex mu;
  bool allow = false;
  std::vector<std::uint64_t> asked;
  PeerClientOptions opts;
  opts.max_retries = 2;
  opts.hold_body = [&](std::uint64_t n) -> std::shared_ptr<const void> {
    std::lock_guard lk(mu);
    asked.push_back(n);
    return allow ? std::make_shared<int>(0) : nullptr;
  };
  PeerClient client(ioc, TlsContext::create(pki.store(pki.facility_dir(1)), TlsSettings{}), opts);
  const std::string code = pki.net.facility_codes[0];
  ASSERT_TRUE(request(client, code, {"GET", "/peer/v1/whoami", {}, "", ""}));  // small: not asked
  auto refused = request(client, code, {"GET", "/peer/v1/large", {}, "", ""});
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, "overloaded");
  EXPECT_EQ(client.state(code).consecutive_failures, 0);
  EXPECT_FALSE(client.state(code).breaker_open);
  {
    std::lock_guard lk(mu);
    ASSERT_EQ(asked.size(), 1u);  // once: not retried
    EXPECT_EQ(asked[0], 100'002u);
    allow = true;
  }
  auto ok = request(client, code, {"GET", "/peer/v1/large", {}, "", ""});
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->body.size(), 100'002u);
  EXPECT_NE(ok->keep, nullptr);

  // The secretariat's answers are read whatever hold_body would say.
  {
    std::lock_guard lk(mu);
    allow = false;
    asked.clear();
  }
  PeerServerOptions so;
  so.address = "127.0.0.1";
  so.port = 0;
  std::vector<PeerRoute> routes = {{"GET", "/peer/v1/large", Caller::any,
                                    [](const PeerRequest&) {
                                      return PeerResponse::json(200, "\"" + std::string(100'000, 'y') + "\"");
                                    },
                                    {}}};
  PeerServer secretariat(ioc, TlsContext::create(pki.store(pki.net.secretariat_dir), TlsSettings{}), so, routes);
  ASSERT_TRUE(secretariat.start());
  auto orders = request(client, PeerAddress::secretariat_at("127.0.0.1", secretariat.port()),
                        {"GET", "/peer/v1/large", {}, "", ""});
  ASSERT_TRUE(orders) << orders.error().code << ": " << orders.error().message;
  EXPECT_EQ(orders->body.size(), 100'002u);
  std::lock_guard lk(mu);
  EXPECT_TRUE(asked.empty());
  secretariat.stop();
}

/// The next piece of a streamed answer, waited for.
Result<std::string> pull(BodyStream& body) {
  std::promise<Result<std::string>> p;
  body.next([&p](Result<std::string> piece) { p.set_value(std::move(piece)); });
  return p.get_future().get();
}

// A large answer written piece by piece by the server (BodyStream over
// mutual TLS) and read piece by piece by the client (stream_above): the
// client asks hold_body for one window, not the whole length, and its
// connection goes back to the pool once the body has been read to its end;
// a stream dropped before its end closes its connection instead.
TEST_F(PeerServerTest, LargeAnswersStreamBothWays) {
  std::mutex mu;
  std::vector<std::uint64_t> asked;
  PeerClientOptions opts;
  opts.hold_body = [&](std::uint64_t n) -> std::shared_ptr<const void> {
    std::lock_guard lk(mu);
    asked.push_back(n);
    return std::make_shared<int>(0);
  };
  // The peer's deadline bounds each read, not the consumer's pauses.
  opts.request_timeout = std::chrono::milliseconds(300);
  PeerClient client(ioc, TlsContext::create(pki.store(pki.facility_dir(1)), TlsSettings{}), opts);
  const std::string code = pki.net.facility_codes[0];
  OutboundRequest req{"GET", "/peer/v1/streamed", {}, "", ""};
  req.stream_above = 64 * 1024;

  auto res = request(client, code, req);
  ASSERT_TRUE(res) << res.error().message;
  ASSERT_NE(res->stream, nullptr);
  EXPECT_EQ(res->status, 200u);
  EXPECT_EQ(res->content_type, "application/octet-stream");
  EXPECT_TRUE(res->body.empty());
  EXPECT_EQ(res->stream->size, kStreamedSize);
  EXPECT_NE(res->keep, nullptr);
  {
    std::lock_guard lk(mu);
    EXPECT_EQ(asked, std::vector<std::uint64_t>{kStreamHold});
  }
  EXPECT_EQ(client.state(code).idle, 0u);  // busy while the body is read
  std::string got;
  for (int i = 0; i < 1000; ++i) {
    auto piece = pull(*res->stream);
    ASSERT_TRUE(piece) << piece.error().message;
    if (piece->empty()) break;
    EXPECT_LE(piece->size(), 64u * 1024);
    got += *piece;
    if (i == 0) std::this_thread::sleep_for(std::chrono::milliseconds(700));  // a consumer that pauses
  }
  EXPECT_TRUE(got == streamed_bytes(0, kStreamedSize)) << got.size();
  EXPECT_EQ(client.state(code).open, 1u);
  EXPECT_EQ(client.state(code).idle, 1u);  // back in the pool, and reused:
  auto small = request(client, code, {"GET", "/peer/v1/whoami", {}, "", ""});
  ASSERT_TRUE(small);
  EXPECT_EQ(client.state(code).open, 1u);

  // Dropped after one piece: the connection, half read, is closed.
  auto dropped = request(client, code, req);
  ASSERT_TRUE(dropped);
  ASSERT_NE(dropped->stream, nullptr);
  ASSERT_TRUE(pull(*dropped->stream));
  dropped = make_error("x", "dropped");
  for (int i = 0; i < 100 && client.state(code).open != 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(client.state(code).open, 0u);
  EXPECT_TRUE(request(client, code, {"GET", "/peer/v1/whoami", {}, "", ""}));

  // Not above stream_above: read whole, as before.
  req.stream_above = kStreamedSize;
  auto whole = request(client, code, req);
  ASSERT_TRUE(whole);
  EXPECT_EQ(whole->stream, nullptr);
  EXPECT_TRUE(whole->body == streamed_bytes(0, kStreamedSize));
}

TEST_F(PeerServerTest, PostIsNotRetried) {
  PeerClientOptions opts;
  opts.max_retries = 3;
  opts.backoff_base = std::chrono::milliseconds(1);
  PeerClient client(ioc, TlsContext::create(pki.store(pki.facility_dir(1)), TlsSettings{}), opts);
  auto r = request(client, {"1300000009", "127.0.0.1", unreachable_port(ioc)}, {"POST", "/x", {}, "{}", "application/json"});
  ASSERT_FALSE(r);
  EXPECT_EQ(client.state("1300000009").consecutive_failures, 1);
}

TEST_F(PeerServerTest, ReloadSwapsCertificateForNewConnectionsOnly) {
  PeerClient client(ioc, TlsContext::create(pki.store(pki.facility_dir(1)), TlsSettings{}));
  const std::string code = pki.net.facility_codes[0];
  ASSERT_TRUE(request(client, code, {"GET", "/peer/v1/whoami", {}, "", ""}));  // opens connection A
  const std::string old_serial = store->current()->serial();

  const auto now = Clock::now();
  const auto fresh = pki.issue("fresh", pki.facility(0), now - std::chrono::minutes(5), now + std::chrono::hours(240));
  for (const char* f : {"cert.pem", "key.pem"}) {
    fs::remove(pki.facility_dir(0) / f);
    fs::copy_file(fresh / f, pki.facility_dir(0) / f);
  }
  ASSERT_TRUE(store->reload(now));
  const std::string new_serial = store->current()->serial();
  EXPECT_NE(new_serial, old_serial);

  // Connection A keeps its snapshot and still works.
  ASSERT_TRUE(request(client, code, {"GET", "/peer/v1/whoami", {}, "", ""}));
  EXPECT_EQ(server->stats().accepted, 1u);

  // A new connection is served with the new certificate.
  const std::string fresh_pem = test::read_file(fresh / "cert.pem");
  const std::string fresh_line = fresh_pem.substr(fresh_pem.find('\n') + 1, 64);
  Child sc({"openssl", "s_client", "-connect", "127.0.0.1:" + std::to_string(server->port()), "-cert",
            (pki.facility_dir(1) / "cert.pem").string(), "-key", (pki.facility_dir(1) / "key.pem").string()},
           "", pki.dir / "sc.log");
  sc.wait();
  EXPECT_NE(test::read_file(pki.dir / "sc.log").find(fresh_line), std::string::npos);

  // A corrupt key keeps the current snapshot and reports why.
  fs::remove(pki.facility_dir(0) / "key.pem");
  pki.dir.write("facilities/" + code + "/key.pem", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
  auto bad = store->reload(now);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, "bad_key");
  EXPECT_EQ(store->current()->serial(), new_serial);
  EXPECT_EQ(curl(pki.facility_dir(1), "GET", "/peer/v1/health").status, 200);
}

}  // namespace
}  // namespace hiegate::transport::testing
