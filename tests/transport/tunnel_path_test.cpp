// Service tunnels end to end: two gateways on loopback, MLLP echo and bulk
// backends, large payloads both ways, half-close, refusals.
#include <sys/un.h>

#include <cstring>
#include <future>
#include <random>

#include "tunnel_fixture.hpp"

namespace hiegate::transport::testing {
namespace {

std::string random_bytes(std::size_t n, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; i += 8) {
    const auto v = rng();
    std::memcpy(s.data() + i, &v, std::min<std::size_t>(8, n - i));
  }
  return s;
}

std::uint64_t fnv1a(std::string_view s) {
  std::uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ULL;
  return h;
}

std::string mllp(std::string_view msg) { return "\x0b" + std::string(msg) + "\x1c\x0d"; }

/// Reads one MLLP frame.
std::string read_mllp(int fd) {
  std::string got;
  while (got.size() < 2 || got.substr(got.size() - 2) != "\x1c\x0d") {
    const auto c = read_exact(fd, 1);
    if (c.empty()) break;
    got += c;
  }
  return got;
}

TEST(TunnelPath, MllpMessagesRoundTripAndAreAudited) {
  TwoGateways g;
  Backend backend(echo);
  ASSERT_TRUE(g.b.engine->set_inbound({g.in("mllp", backend.endpoint(), {g.code(0)})}));
  ASSERT_TRUE(g.a.engine->set_outbound({g.out("lab", "mllp")}));

  Fd c = g.dial("lab");
  for (int i = 0; i < 20; ++i) {
    const std::string msg = mllp("MSH|^~\\&|LAB|A|EHR|B|20240101||ORU^R01|" + std::to_string(i) + "|P|2.5\r");
    ASSERT_TRUE(write_all(c.get(), msg));
    EXPECT_EQ(read_mllp(c.get()), msg);
  }
  ::shutdown(c.get(), SHUT_WR);
  bool ok = false;
  EXPECT_EQ(read_all(c.get(), &ok), "");
  EXPECT_TRUE(ok);  // clean EOF, not a reset

  const auto out = g.a.audit.wait_ended("lab", "closed");
  ASSERT_TRUE(out);
  EXPECT_EQ(out->facility, g.code(1));
  EXPECT_EQ(out->service, "mllp");
  EXPECT_EQ(out->bytes_to_peer, out->bytes_from_peer);
  EXPECT_GT(out->bytes_to_peer, 20U * 40);
  const auto in = g.b.audit.wait_ended("mllp", "closed");
  ASSERT_TRUE(in);
  EXPECT_EQ(in->facility, g.code(0));
  EXPECT_EQ(in->direction, TunnelDirection::inbound);
  EXPECT_EQ(in->bytes_from_peer, out->bytes_to_peer);

  const auto stats = g.a.engine->stats();
  ASSERT_EQ(stats.tunnels.size(), 1U);
  EXPECT_EQ(stats.tunnels[0].accepted, 1U);
  EXPECT_EQ(stats.tunnels[0].active, 0U);
}

TEST(TunnelPath, LargePayloadsIntactBothWays) {
  TwoGateways g;
  Backend backend(echo);
  ASSERT_TRUE(g.b.engine->set_inbound({g.in("bulk", backend.endpoint(), {"*"})}));
  ASSERT_TRUE(g.a.engine->set_outbound({g.out("bulk", "bulk")}));
  const std::string payload = random_bytes(32 << 20, 7);
  Fd c = g.dial("bulk");
  std::thread writer([&] {
    write_all(c.get(), payload);
    ::shutdown(c.get(), SHUT_WR);
  });
  bool ok = false;
  const std::string back = read_all(c.get(), &ok);
  writer.join();
  EXPECT_TRUE(ok);
  ASSERT_EQ(back.size(), payload.size());
  EXPECT_EQ(fnv1a(back), fnv1a(payload));
  const auto rec = g.a.audit.wait_ended("bulk", "closed");
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->bytes_to_peer, payload.size());
  EXPECT_EQ(rec->bytes_from_peer, payload.size());
}

TEST(TunnelPath, HalfCloseEachWay) {
  TwoGateways g;
  // The backend reads the whole request before answering (needs the client's
  // half-close to arrive as EOF), then answers with a checksum and a body.
  const std::string body = random_bytes(3 << 20, 11);
  Backend backend([&](int fd) {
    const std::string req = read_all(fd);
    write_all(fd, std::to_string(req.size()) + ":" + std::to_string(fnv1a(req)) + "\n" + body);
  });
  ASSERT_TRUE(g.b.engine->set_inbound({g.in("sink", backend.endpoint(), {g.code(0)})}));
  ASSERT_TRUE(g.a.engine->set_outbound({g.out("sink", "sink")}));
  const std::string req = random_bytes(5 << 20, 3);
  Fd c = g.dial("sink");
  ASSERT_TRUE(write_all(c.get(), req));
  ::shutdown(c.get(), SHUT_WR);
  bool ok = false;
  const std::string got = read_all(c.get(), &ok);
  EXPECT_TRUE(ok);
  EXPECT_EQ(got, std::to_string(req.size()) + ":" + std::to_string(fnv1a(req)) + "\n" + body);
  EXPECT_TRUE(g.b.audit.wait_ended("sink", "closed"));

  // The other way round: the backend finishes first, the client keeps sending.
  Backend early([](int fd) {
    write_all(fd, "banner\n");
    ::shutdown(fd, SHUT_WR);
    const std::string rest = read_all(fd);
    // Nobody reads this; it only proves the request arrived after our FIN.
    (void)rest;
  });
  ASSERT_TRUE(g.b.engine->set_inbound({g.in("sink", backend.endpoint(), {g.code(0)}),
                                       g.in("early", early.endpoint(), {g.code(0)})}));
  ASSERT_TRUE(g.a.engine->set_outbound({g.out("sink", "sink"), g.out("early", "early")}));
  Fd e = g.dial("early");
  EXPECT_EQ(read_all(e.get(), &ok), "banner\n");  // EOF from the backend's half-close
  EXPECT_TRUE(ok);
  ASSERT_TRUE(write_all(e.get(), random_bytes(1 << 20, 5)));
  ::shutdown(e.get(), SHUT_WR);
  const auto rec = g.b.audit.wait_ended("early", "closed");
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->bytes_from_peer, 1U << 20);
}

TEST(TunnelPath, BackendRefusingIsReportedBothSides) {
  TwoGateways g;
  LocalEndpoint dead;
  {
    Backend gone(echo);
    dead = gone.endpoint();
  }
  ASSERT_TRUE(g.b.engine->set_inbound({g.in("dead", dead, {g.code(0)})}));
  ASSERT_TRUE(g.a.engine->set_outbound({g.out("dead", "dead")}));
  Fd c = g.dial("dead");
  EXPECT_EQ(read_all(c.get()), "");
  const auto a = g.a.audit.wait_ended("dead", "refused_by_peer");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->detail, "backend_unavailable");
  EXPECT_TRUE(g.b.audit.wait_ended("dead", "backend_unavailable"));
}

TEST(TunnelPath, FacilityNotOnAllowListIsRefusedAndAudited) {
  TwoGateways g;
  Backend backend(echo);
  ASSERT_TRUE(g.b.engine->set_inbound({g.in("private", backend.endpoint(), {"1319999999"})}));
  ASSERT_TRUE(g.a.engine->set_outbound({g.out("private", "private"), g.out("nothing", "nothing")}));
  Fd c = g.dial("private");
  ASSERT_TRUE(write_all(c.get(), mllp("MSH|")));
  EXPECT_EQ(read_all(c.get()), "");
  const auto in = g.b.audit.wait_ended("private", "forbidden");
  ASSERT_TRUE(in);
  EXPECT_EQ(in->facility, g.code(0));
  EXPECT_EQ(in->bytes_from_peer, 0U);
  const auto out = g.a.audit.wait_ended("private", "refused_by_peer");
  ASSERT_TRUE(out);
  EXPECT_EQ(out->detail, "forbidden");
  EXPECT_EQ(backend.accepted(), 0);

  Fd d = g.dial("nothing");
  EXPECT_EQ(read_all(d.get()), "");
  EXPECT_TRUE(g.b.audit.wait([](const TunnelRecord& r) { return r.ended == "unknown_service"; }));
  EXPECT_EQ(g.b.engine->stats().unknown_service, 1U);
}

TEST(TunnelPath, UnixSocketListenerAndRemoval) {
  TwoGateways g;
  Backend backend(echo);
  ASSERT_TRUE(g.b.engine->set_inbound({g.in("mllp", backend.endpoint(), {g.code(0)})}));
  auto t = g.out("lab", "mllp");
  t.listen = {LocalEndpoint::Kind::unix_socket, {}, 0, (g.pki.dir / "lab.sock").string()};
  ASSERT_TRUE(g.a.engine->set_outbound({t}));
  Fd c(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strncpy(a.sun_path, t.listen.path.c_str(), sizeof a.sun_path - 1);
  ASSERT_EQ(::connect(c.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  const std::string msg = mllp("MSH|unix");
  ASSERT_TRUE(write_all(c.get(), msg));
  EXPECT_EQ(read_mllp(c.get()), msg);
  ASSERT_TRUE(g.a.engine->set_outbound({}));
  EXPECT_EQ(read_all(c.get()), "");
  EXPECT_TRUE(g.a.audit.wait_ended("lab", "removed"));
  EXPECT_FALSE(fs::exists(t.listen.path));
}

TEST(TunnelPath, ProxyProtocolHeaderNamesTheCaller) {
  TwoGateways g;
  std::promise<std::string> header;
  Backend backend([&](int fd) {
    std::string h = read_exact(fd, 16);
    if (h.size() == 16)
      h += read_exact(fd, (std::size_t{static_cast<unsigned char>(h[14])} << 8) | static_cast<unsigned char>(h[15]));
    header.set_value(h);
  });
  auto svc = g.in("pp", backend.endpoint(), {g.code(0)});
  svc.proxy_protocol = true;
  ASSERT_TRUE(g.b.engine->set_inbound({svc}));
  ASSERT_TRUE(g.a.engine->set_outbound({g.out("pp", "pp")}));
  Fd c = g.dial("pp");
  auto f = header.get_future();
  ASSERT_EQ(f.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  const std::string h = f.get();
  ASSERT_GE(h.size(), 16U);
  EXPECT_EQ(h.substr(0, 12), std::string("\r\n\r\n\0\r\nQUIT\n", 12));
  EXPECT_EQ(static_cast<unsigned char>(h[12]), 0x21);  // v2, PROXY
  EXPECT_EQ(static_cast<unsigned char>(h[13]), 0x11);  // TCP over IPv4
  EXPECT_EQ(h.size(), 16U + 12 + 3 + 10 + 3 + 35);
  const auto tlv = h.find(std::string("\xE0\x00\x0a", 3) + g.code(0));
  EXPECT_NE(tlv, std::string::npos);
  EXPECT_NE(h.find("hie://nishitama/facility/" + g.code(0)), std::string::npos);
}

}  // namespace
}  // namespace hiegate::transport::testing
