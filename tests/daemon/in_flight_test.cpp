// Requests in flight are cut when the mode in force stops allowing their
// function: the registry alone, and a slow download through the real local
// API server.
#include "hiegate/daemon/in_flight.hpp"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/executor_work_guard.hpp>

#include <atomic>
#include <chrono>
#include <thread>

#include "audit_fixture.hpp"
#include "hiegate/crypto/encoding.hpp"
#include "hiegate/crypto/primitives.hpp"
#include "hiegate/daemon/local_api_server.hpp"
#include "support/temp_dir.hpp"

namespace hiegate::daemon {
namespace {

using policy::Function;
using policy::FunctionSet;
using testing::QuietLogger;

struct Allowed {
  std::atomic<std::uint8_t> bits{FunctionSet::all().bits()};
  FunctionSet get() const {
    FunctionSet s;
    for (auto f : policy::kAllFunctions) {
      if ((bits.load() >> static_cast<unsigned>(f)) & 1U) s.insert(f);
    }
    return s;
  }
  void set(FunctionSet s) { bits = s.bits(); }
};

TEST(InFlight, CutsOnlyWhatTheNewModeForbids) {
  Allowed allowed;
  InFlight reg([&] { return allowed.get(); });
  int view_cut = 0;
  int serve_cut = 0;
  int ended_cut = 0;
  auto view = reg.hold(Function::view, [&] { ++view_cut; });
  auto serve = reg.hold(Function::serve, [&] { ++serve_cut; });
  { auto ended = reg.hold(Function::view, [&] { ++ended_cut; }); }
  EXPECT_EQ(reg.size(), 2U);
  EXPECT_EQ(reg.recheck(), 0U);

  allowed.set(FunctionSet::none().insert(Function::serve));  // restrict allow=[serve]
  EXPECT_EQ(reg.recheck(), 1U);
  EXPECT_EQ(view_cut, 1);
  EXPECT_EQ(serve_cut, 0);
  EXPECT_EQ(ended_cut, 0);
  EXPECT_EQ(reg.recheck(), 0U) << "a cut operation is forgotten";
  EXPECT_EQ(view_cut, 1);
  EXPECT_EQ(reg.size(), 1U);
  EXPECT_EQ(reg.cut_total(), 1U);
}

TEST(InFlight, AnOperationStartedUnderAStopIsCutAtOnce) {
  Allowed allowed;
  allowed.set(FunctionSet::none());
  InFlight reg([&] { return allowed.get(); });
  int cut = 0;
  auto h = reg.hold(Function::view, [&] { ++cut; });
  EXPECT_EQ(cut, 1);
  EXPECT_EQ(reg.size(), 0U);
}

TEST(InFlight, HandleMayOutliveTheRegistry) {
  InFlight::Handle h;
  {
    InFlight reg([] { return FunctionSet::all(); });
    h = reg.hold(Function::view, [] {});
  }
  h.reset();  // must not touch the destroyed registry
  SUCCEED();
}

/// A slow reader downloading a large answer from the real local API server
/// is cut when its function is forbidden, well within the 1 s.
TEST(InFlight, SlowDownloadIsCutWithinOneSecond) {
  test::TempDir dir;
  const std::string token = "in-flight-test-token";
  const auto load = parse_config("[network]\nid = \"nishitama\"\nfacility = \"1312345678\"\n"
                                 "[local_api]\nlisten = [\"127.0.0.1:0\"]\nunix_socket = \"" +
                                     (dir.path() / "s.sock").string() +
                                     "\"\nrequest_timeout = \"30s\"\n[[local_api.tokens]]\nname = \"t\"\n"
                                     "hash = \"sha256:" + crypto::to_hex(crypto::sha256(token)) + "\"\n",
                                 "t.toml");
  ASSERT_TRUE(load.ok()) << load.report();
  const ConfigPtr cfg = load.config;

  Allowed allowed;
  InFlight reg([&] { return allowed.get(); });
  constexpr std::size_t kBody = 64U << 20;  // far more than the socket buffers hold
  Router router;
  router.add(http::verb::get, "/v1/big", [&](ApiRequest& req, Responder r) {
    req.function = Function::view;
    r.send(text_response(http::status::ok, std::string(kBody, 'x'), "application/octet-stream"));
  });
  boost::asio::io_context ioc;
  auto work = boost::asio::make_work_guard(ioc);
  QuietLogger log;
  Metrics metrics;
  LocalApiServer server(LocalApiServer::Deps{ioc, log, metrics, router, [cfg] { return cfg; }, &reg});
  ASSERT_TRUE(server.start(*cfg));
  std::thread runner([&] { ioc.run(); });
  const std::string ep = server.endpoints().front();
  const auto port = static_cast<std::uint16_t>(std::stoi(ep.substr(ep.rfind(':') + 1)));

  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  const int small = 4096;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
  const std::string req = "GET /v1/big HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token + "\r\n\r\n";
  ASSERT_EQ(::send(fd, req.data(), req.size(), 0), static_cast<ssize_t>(req.size()));
  // Wait until the response is being written (the request is registered).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (reg.size() == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_EQ(reg.size(), 1U);

  allowed.set(FunctionSet::none());  // a stop arrives
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(reg.recheck(), 1U);
  std::size_t got = 0;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  const auto elapsed = std::chrono::steady_clock::now() - t0;
  ::close(fd);
  EXPECT_LT(got, kBody) << "the download ran to its end";
  EXPECT_LT(elapsed, std::chrono::milliseconds(1500));
  EXPECT_EQ(reg.size(), 0U);

  work.reset();
  server.close_all();
  ioc.stop();
  runner.join();
}

}  // namespace
}  // namespace hiegate::daemon
