// Service tunnels under the network's rules: mode changes cut open tunnels,
// reconcile leaves other tunnels' connections alone, caps refuse.
#include "tunnel_fixture.hpp"

namespace hiegate::transport::testing {
namespace {

using std::chrono::steady_clock;

/// Sends `msg` and expects it echoed.
void ping(int fd, const std::string& msg) {
  ASSERT_TRUE(write_all(fd, msg));
  EXPECT_EQ(read_exact(fd, msg.size()), msg);
}

/// A's tunnel "lab" to B's service "mllp" (an echo), and one connection
/// through it that has carried `first`.
struct OpenTunnel {
  explicit OpenTunnel(const std::string& first) {
    EXPECT_TRUE(g.b.engine->set_inbound({g.in("mllp", backend.endpoint(), {g.code(0)})}));
    EXPECT_TRUE(g.a.engine->set_outbound({g.out("lab", "mllp")}));
    c = g.dial("lab");
    ping(c.get(), first);
  }
  TwoGateways g;
  Backend backend{echo};
  Fd c;
};

TEST(TunnelRules, ServeRevokedCutsLiveTunnelWithinOneSecond) {
  OpenTunnel t("before");

  const auto t0 = steady_clock::now();
  t.g.b.serve = false;
  t.g.b.engine->recheck();
  bool ok = true;
  EXPECT_EQ(read_all(t.c.get(), &ok), "");
  EXPECT_LT(steady_clock::now() - t0, std::chrono::seconds(1));
  const auto rec = t.g.b.audit.wait_ended("mllp", "mode_cut");
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->bytes_from_peer, 6U);
  EXPECT_TRUE(t.g.a.audit.wait_ended("lab", "aborted_peer"));

  // New connections are refused while the mode forbids serving.
  Fd d = t.g.dial("lab");
  EXPECT_EQ(read_all(d.get()), "");
  EXPECT_TRUE(t.g.b.audit.wait([](const TunnelRecord& r) { return r.ended == "refused_mode"; }));
  EXPECT_EQ(t.backend.accepted(), 1);
}

TEST(TunnelRules, ViewRevokedCutsOutboundAndRefusesNew) {
  OpenTunnel t("x");
  const auto t0 = steady_clock::now();
  t.g.a.view = false;
  t.g.a.engine->recheck();
  EXPECT_EQ(read_all(t.c.get()), "");
  EXPECT_LT(steady_clock::now() - t0, std::chrono::seconds(1));
  EXPECT_TRUE(t.g.a.audit.wait_ended("lab", "mode_cut"));
  Fd d = t.g.dial("lab");
  EXPECT_EQ(read_all(d.get()), "");
  EXPECT_TRUE(t.g.a.audit.wait_ended("lab", "refused_mode"));
  t.g.a.view = true;
  Fd e = t.g.dial("lab");
  ping(e.get(), "after");
}

// A suspend_facility order naming the other facility: its open tunnels are
// cut and new ones refused, on whichever side the order is in force.
TEST(TunnelRules, ASuspendedFacilityIsCutAndRefusedBothWays) {
  OpenTunnel t("before");
  const auto t0 = steady_clock::now();
  t.g.b.suspend(t.g.code(0), true);  // at B: A is suspended
  EXPECT_EQ(read_all(t.c.get()), "");
  EXPECT_LT(steady_clock::now() - t0, std::chrono::seconds(1));
  EXPECT_TRUE(t.g.b.audit.wait_ended("mllp", "facility_suspended"));
  Fd d = t.g.dial("lab");
  EXPECT_EQ(read_all(d.get()), "");
  EXPECT_TRUE(t.g.b.audit.wait(
      [](const TunnelRecord& r) { return r.ended == "facility_suspended" && r.bytes_from_peer == 0; }));
  EXPECT_EQ(t.backend.accepted(), 1);

  t.g.b.suspend(t.g.code(0), false);
  Fd e = t.g.dial("lab");
  ping(e.get(), "again");
  t.g.a.suspend(t.g.code(1), true);  // at A: B is suspended
  EXPECT_EQ(read_all(e.get()), "");
  EXPECT_TRUE(t.g.a.audit.wait_ended("lab", "facility_suspended"));
  Fd f = t.g.dial("lab");
  EXPECT_EQ(read_all(f.get()), "");
  EXPECT_EQ(t.backend.accepted(), 2);
  t.g.a.suspend(t.g.code(1), false);
  Fd h = t.g.dial("lab");
  ping(h.get(), "after");
}

// A connection is recorded before any byte flows: nothing reaches the
// backend until both sides' records are durable, and a side that cannot
// record refuses the connection (fail closed).
TEST(TunnelRules, NothingFlowsBeforeTheOpeningIsRecorded) {
  TwoGateways g;
  Backend backend(echo);
  ASSERT_TRUE(g.b.engine->set_inbound({g.in("mllp", backend.endpoint(), {g.code(0)})}));
  ASSERT_TRUE(g.a.engine->set_outbound({g.out("lab", "mllp")}));
  std::mutex mu;
  std::vector<std::function<void(bool)>> held;
  std::vector<TunnelRecord> openings;
  g.b.opening([&](const TunnelRecord& r, std::function<void(bool)> done) {
    std::lock_guard lock(mu);
    openings.push_back(r);
    held.push_back(std::move(done));
  });
  Fd c = g.dial("lab");
  ASSERT_TRUE(write_all(c.get(), "early"));
  for (int i = 0; i < 200; ++i) {
    {
      std::lock_guard lock(mu);
      if (!held.empty()) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(backend.accepted(), 0);  // B waits for its record
  {
    std::lock_guard lock(mu);
    ASSERT_EQ(held.size(), 1U);
    EXPECT_EQ(openings[0].ended, "opened");
    EXPECT_EQ(openings[0].facility, g.code(0));
    EXPECT_EQ(openings[0].direction, TunnelDirection::inbound);
    held[0](true);
  }
  EXPECT_EQ(read_exact(c.get(), 5), "early");
  EXPECT_EQ(backend.accepted(), 1);

  // B cannot record: the caller is refused, nothing reaches the backend.
  g.b.opening([](const TunnelRecord&, std::function<void(bool)> done) { done(false); });
  Fd d = g.dial("lab");
  EXPECT_EQ(read_all(d.get()), "");
  EXPECT_TRUE(g.b.audit.wait_ended("mllp", "audit_unavailable"));
  EXPECT_TRUE(g.a.audit.wait([](const TunnelRecord& r) {
    return r.ended == "refused_by_peer" && r.detail == "audit_unavailable";
  }));
  // A's record is slow: A dials B and completes the handshake meanwhile, but
  // sends nothing of the service, not even its name, until it is durable.
  std::atomic<int> b_openings{0};
  g.b.opening([&](const TunnelRecord&, std::function<void(bool)> done) {
    ++b_openings;
    done(true);
  });
  std::function<void(bool)> a_done;
  g.a.opening([&](const TunnelRecord&, std::function<void(bool)> done) {
    std::lock_guard lock(mu);
    a_done = std::move(done);
  });
  Fd f = g.dial("lab");
  ASSERT_TRUE(write_all(f.get(), "later"));
  for (int i = 0; i < 200; ++i) {
    {
      std::lock_guard lock(mu);
      if (a_done) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(b_openings.load(), 0);  // B has nothing to record yet
  EXPECT_EQ(backend.accepted(), 1);
  {
    std::lock_guard lock(mu);
    ASSERT_TRUE(a_done);
    a_done(true);
  }
  EXPECT_EQ(read_exact(f.get(), 5), "later");
  EXPECT_EQ(b_openings.load(), 1);
  EXPECT_EQ(backend.accepted(), 2);

  // A cannot record: nothing of the service is sent to B.
  g.b.opening(nullptr);
  g.a.opening([](const TunnelRecord&, std::function<void(bool)> done) { done(false); });
  Fd e = g.dial("lab");
  EXPECT_EQ(read_all(e.get()), "");
  EXPECT_TRUE(g.a.audit.wait_ended("lab", "audit_unavailable"));
  EXPECT_EQ(backend.accepted(), 2);
}

TEST(TunnelRules, ReconcileKeepsOtherTunnelsTraffic) {
  TwoGateways g;
  Backend backend(echo);
  ASSERT_TRUE(g.b.engine->set_inbound({g.in("mllp", backend.endpoint(), {g.code(0)})}));
  ASSERT_TRUE(g.a.engine->set_outbound({g.out("lab", "mllp"), g.out("old", "mllp")}));
  const auto lab_ep = g.a.engine->outbound_endpoint("lab");
  Fd c = g.dial("lab");
  Fd o = g.dial("old");
  ping(c.get(), "one");
  ping(o.get(), "one");

  // Add "pacs" and a second service, drop "old": "lab" keeps its connection.
  Backend backend2(echo);
  ASSERT_TRUE(g.b.engine->set_inbound({g.in("mllp", backend.endpoint(), {g.code(0)}),
                                       g.in("dicom", backend2.endpoint(), {"*"})}));
  ASSERT_TRUE(g.a.engine->set_outbound({g.out("lab", "mllp"), g.out("pacs", "dicom")}));
  EXPECT_EQ(g.a.engine->outbound_endpoint("lab"), lab_ep);
  EXPECT_FALSE(g.a.engine->outbound_endpoint("old"));
  EXPECT_EQ(read_all(o.get()), "");
  EXPECT_TRUE(g.a.audit.wait_ended("old", "removed"));
  Fd p = g.dial("pacs");
  ping(p.get(), "dicom");
  ping(c.get(), "two");
  ::shutdown(c.get(), SHUT_WR);
  EXPECT_EQ(read_all(c.get()), "");
  const auto rec = g.a.audit.wait_ended("lab", "closed");
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->bytes_to_peer, 6U);

  // A bad set changes nothing.
  auto bad = g.out("pacs", "dicom");
  bad.listen.host = "192.0.2.1";
  EXPECT_FALSE(g.a.engine->set_outbound({g.out("lab", "mllp"), bad}));
  EXPECT_TRUE(g.a.engine->outbound_endpoint("pacs"));
}

TEST(TunnelRules, ConnectionCapRefusesExtra) {
  TwoGateways g;
  Backend backend(echo);
  auto svc = g.in("mllp", backend.endpoint(), {g.code(0)});
  svc.max_connections = 1;
  ASSERT_TRUE(g.b.engine->set_inbound({svc}));
  ASSERT_TRUE(g.a.engine->set_outbound({g.out("lab", "mllp")}));
  Fd c = g.dial("lab");
  ping(c.get(), "first");
  Fd d = g.dial("lab");
  EXPECT_EQ(read_all(d.get()), "");
  const auto rec = g.a.audit.wait_ended("lab", "refused_by_peer");
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->detail, "over_capacity");
  ping(c.get(), "still");
}

TEST(TunnelRules, BandwidthCapSlowsTransfer) {
  TwoGateways g;
  Backend backend([](int fd) { read_all(fd); });
  ASSERT_TRUE(g.b.engine->set_inbound({g.in("sink", backend.endpoint(), {g.code(0)})}));
  auto t = g.out("slow", "sink");
  t.bandwidth_bytes_per_sec = 1 << 20;  // 1 MiB/s, 1 s burst
  ASSERT_TRUE(g.a.engine->set_outbound({t}));
  Fd c = g.dial("slow");
  const auto t0 = steady_clock::now();
  ASSERT_TRUE(write_all(c.get(), std::string(3 << 19, 'x')));  // 1.5 MiB: 0.5 s over the burst
  ::shutdown(c.get(), SHUT_WR);
  read_all(c.get());
  EXPECT_GE(steady_clock::now() - t0, std::chrono::milliseconds(400));
  EXPECT_TRUE(g.a.audit.wait_ended("slow", "closed"));
}

TEST(TunnelRules, IdleAndTotalTimeoutsEndConnections) {
  auto lim = test_limits();
  lim.idle_timeout = std::chrono::milliseconds(150);
  lim.max_duration = std::chrono::milliseconds(600);
  TwoGateways g(lim);
  Backend backend(echo);
  ASSERT_TRUE(g.b.engine->set_inbound({g.in("mllp", backend.endpoint(), {g.code(0)})}));
  ASSERT_TRUE(g.a.engine->set_outbound({g.out("idle", "mllp"), g.out("busy", "mllp")}));
  Fd idle = g.dial("idle");
  ping(idle.get(), "x");
  EXPECT_EQ(read_all(idle.get()), "");  // nothing sent: cut after 150 ms
  // Both gateways time out; whichever fires first ends it.
  const auto by = [](const char* tunnel, const char* ended) {
    return [=](const TunnelRecord& r) { return (r.tunnel == tunnel || r.service == "mllp") && r.ended == ended; };
  };
  EXPECT_TRUE(g.a.audit.wait(by("idle", "idle_timeout")) || g.b.audit.wait(by("idle", "idle_timeout")));

  Fd busy = g.dial("busy");
  const auto t0 = steady_clock::now();
  bool cut = false;
  while (steady_clock::now() - t0 < std::chrono::seconds(3) && !cut) {
    if (!write_all(busy.get(), "ping")) break;
    cut = read_exact(busy.get(), 4) != "ping";
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(cut);
  EXPECT_LT(steady_clock::now() - t0, std::chrono::seconds(2));
  EXPECT_TRUE(g.a.audit.wait(by("busy", "max_duration")) || g.b.audit.wait(by("busy", "max_duration")));
}

TEST(TunnelEndpoints, ParseAndValidate) {
  auto a = parse_local_endpoint("127.0.0.1:2575");
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->is_loopback());
  auto b = parse_local_endpoint("[::1]:104");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->to_string(), "[::1]:104");
  auto u = parse_local_endpoint("unix:/run/hiegate/mllp.sock");
  ASSERT_TRUE(u);
  EXPECT_TRUE(u->is_loopback());
  auto pub = parse_local_endpoint("10.0.0.1:2575");
  ASSERT_TRUE(pub);
  EXPECT_FALSE(pub->is_loopback());
  for (const char* bad : {"localhost:1", "::1:104", "1.2.3.4:", "1.2.3.4:70000", "unix:rel", "1.2.3.4"})
    EXPECT_FALSE(parse_local_endpoint(bad)) << bad;
  EXPECT_TRUE(is_service_name("mllp-lab.1"));
  EXPECT_FALSE(is_service_name("-x"));
  EXPECT_FALSE(is_service_name("Upper"));
}

}  // namespace
}  // namespace hiegate::transport::testing
