// [tunnels] parsing and the TunnelManager: reconcile and mode cuts driven
// by the allowed-functions callback alone (the periodic re-check).
#include <gtest/gtest.h>

#include "../../daemon/src/config_tunnels.hpp"
#include "../transport/tunnel_fixture.hpp"
#include "hiegate/daemon/tunnels.hpp"

namespace hiegate::daemon {
namespace {

using transport::testing::Backend;
using transport::testing::Fd;

struct Parsed {
  TunnelsConfig cfg;
  std::vector<ConfigIssue> issues;
};

Parsed parse(const std::string& text) {
  Parsed p;
  const toml::table root = toml::parse(std::string_view(text), std::string_view("test.toml"));
  config_detail::Diagnostics diag(p.issues, "test.toml");
  config_detail::Section top(&root, "", diag);
  config_detail::read_tunnels(top, p.cfg);
  return p;
}

std::string joined(const std::vector<ConfigIssue>& issues) {
  std::string s;
  for (const auto& i : issues) s += i.key + ": " + i.message + "\n";
  return s;
}

TEST(TunnelsConfig, ReadsOutAndIn) {
  const auto p = parse(R"(
[tunnels]
port = 9472
idle_timeout = "2m"
[[tunnels.out]]
name = "lab"
listen = "127.0.0.1:2575"
facility = "1310000001"
service = "mllp"
max_connections = 4
[[tunnels.out]]
name = "pacs"
listen = "unix:/run/hiegate/pacs.sock"
facility = "1310000002"
service = "dicom"
bandwidth_bytes_per_sec = 1000000
[[tunnels.in]]
service = "mllp"
backend = "[::1]:2575"
allow = ["1310000001", "1310000003"]
proxy_protocol = true
[[tunnels.in]]
service = "dicom"
backend = "127.0.0.1:104"
allow = "*"
)");
  ASSERT_TRUE(p.issues.empty()) << joined(p.issues);
  EXPECT_EQ(p.cfg.port, 9472);
  EXPECT_EQ(p.cfg.idle_timeout, std::chrono::minutes(2));
  ASSERT_EQ(p.cfg.out.size(), 2U);
  EXPECT_EQ(p.cfg.out[0].listen.port, 2575);
  EXPECT_EQ(p.cfg.out[0].max_connections, 4U);
  EXPECT_EQ(p.cfg.out[1].listen.kind, transport::LocalEndpoint::Kind::unix_socket);
  EXPECT_EQ(p.cfg.out[1].bandwidth_bytes_per_sec, 1000000U);
  ASSERT_EQ(p.cfg.in.size(), 2U);
  EXPECT_EQ(p.cfg.in[0].allow, (std::vector<std::string>{"1310000001", "1310000003"}));
  EXPECT_TRUE(p.cfg.in[0].proxy_protocol);
  EXPECT_EQ(p.cfg.in[1].allow, std::vector<std::string>{"*"});
  EXPECT_TRUE(p.cfg.limits().listen);
}

TEST(TunnelsConfig, AbsentMeansNone) {
  const auto p = parse("[network]\n");
  EXPECT_TRUE(p.cfg.out.empty());
  EXPECT_TRUE(p.cfg.in.empty());
  EXPECT_FALSE(p.cfg.limits().listen);
}

TEST(TunnelsConfig, RejectsWhatTheRulesForbid) {
  const struct {
    const char* toml;
    const char* key;
  } cases[] = {
      {"[[tunnels.out]]\nname='a'\nlisten='10.0.0.1:1'\nfacility='1310000001'\nservice='s'\n", "tunnels.out[0].listen"},
      {"[[tunnels.out]]\nname='a'\nlisten='127.0.0.1:1'\nfacility='131'\nservice='s'\n", "tunnels.out[0].facility"},
      {"[[tunnels.out]]\nname='a'\nlisten='127.0.0.1:1'\nfacility='1310000001'\nservice='s'\nbogus=1\n",
       "tunnels.out[0].bogus"},
      {"[[tunnels.out]]\nname='a'\nlisten='127.0.0.1:1'\nfacility='1310000001'\nservice='s'\n"
       "[[tunnels.out]]\nname='a'\nlisten='127.0.0.1:2'\nfacility='1310000001'\nservice='s'\n",
       "tunnels.out[1].name"},
      {"[[tunnels.in]]\nservice='s'\nbackend='127.0.0.1:1'\n", "tunnels.in[0].allow"},
      {"[[tunnels.in]]\nservice='s'\nbackend='127.0.0.1:1'\nallow=['*']\n", "tunnels.in[0].allow[0]"},
      {"[[tunnels.in]]\nservice='s'\nbackend='127.0.0.1:1'\nallow=[]\n", "tunnels.in[0].allow"},
      {"[[tunnels.in]]\nservice='S P'\nbackend='127.0.0.1:1'\nallow='*'\n", "tunnels.in[0].service"},
      {"[[tunnels.in]]\nservice='s'\nbackend='localhost:1'\nallow='*'\n", "tunnels.in[0].backend"},
      {"[tunnels]\nport=0\n", "tunnels.port"},
  };
  for (const auto& c : cases) {
    const auto p = parse(c.toml);
    ASSERT_FALSE(p.issues.empty()) << c.toml;
    EXPECT_EQ(p.issues[0].key, c.key) << joined(p.issues);
    EXPECT_GT(p.issues[0].line, 0U);
  }
}

/// Gateway B offers "mllp" to A; A's manager has tunnels to it. Modes are
/// atomics read through the functions callback.
struct Managers {
  transport::testing::Pki pki;
  boost::asio::io_context io;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work{io.get_executor()};
  std::atomic<bool> a_view{true}, b_serve{true};
  transport::testing::AuditLog a_audit, b_audit;
  Backend backend{transport::testing::echo};
  std::unique_ptr<TunnelManager> a, b;
  std::vector<std::thread> threads;

  Managers() {
    b = std::make_unique<TunnelManager>(
        io, transport::TlsContext::create(pki.store(pki.facility_dir(1)), {}),
        TunnelManagerHooks{[this] { return b_serve ? policy::FunctionSet::all() : policy::FunctionSet::none(); },
                           [this](const transport::TunnelRecord& r) { b_audit.add(r); }, {}, {}, {}});
    a = std::make_unique<TunnelManager>(
        io, transport::TlsContext::create(pki.store(pki.facility_dir(0)), {}),
        TunnelManagerHooks{[this] {
                             auto f = policy::FunctionSet::all();
                             if (!a_view) f.erase(policy::Function::view);
                             return f;
                           },
                           [this](const transport::TunnelRecord& r) { a_audit.add(r); },
                           [this](const std::string&) -> std::optional<std::string> {
                             return "127.0.0.1:" + std::to_string(b->port());
                           },
                           {},
                           {}});
    for (int i = 0; i < 2; ++i) threads.emplace_back([this] { io.run(); });
  }
  ~Managers() {
    a->stop();
    b->stop();
    work.reset();
    for (auto& t : threads) t.join();
  }
  TunnelsConfig server() const {
    TunnelsConfig c;
    c.listen_address = "127.0.0.1";
    c.port = 0;
    transport::InboundService s;
    s.service = "mllp";
    s.backend = backend.endpoint();
    s.allow = {pki.net.facility_codes.at(0)};
    c.in.push_back(s);
    return c;
  }
  transport::OutboundTunnel out(const std::string& name) const {
    transport::OutboundTunnel t;
    t.name = name;
    t.listen = {transport::LocalEndpoint::Kind::tcp, "127.0.0.1", 0, {}};
    t.facility = pki.net.facility_codes.at(1);
    t.service = "mllp";
    return t;
  }
  Fd dial(const std::string& name) const { return transport::testing::connect_to(*a->outbound_endpoint(name)); }
  /// B serves, A has tunnel "lab"; returns a connection through it that carried a ping.
  Fd lab_connection();
};

void ping(int fd, const std::string& m) {
  ASSERT_TRUE(transport::testing::write_all(fd, m));
  EXPECT_EQ(transport::testing::read_exact(fd, m.size()), m);
}

Fd Managers::lab_connection() {
  EXPECT_TRUE(b->apply(server()));
  TunnelsConfig ca;
  ca.out = {out("lab")};
  EXPECT_TRUE(a->apply(ca));
  Fd c = dial("lab");
  ping(c.get(), "hello");
  return c;
}

TEST(TunnelManager, ReloadAddsTunnelWhileAnotherCarriesTraffic) {
  Managers m;
  Fd c = m.lab_connection();
  TunnelsConfig ca;
  ca.out = {m.out("lab"), m.out("lab2")};
  ASSERT_TRUE(m.a->apply(ca));
  ASSERT_TRUE(m.b->apply(m.server()));  // unchanged: nothing happens
  Fd d = m.dial("lab2");
  ping(d.get(), "second");
  ping(c.get(), "still");
  const auto stats = m.a->stats();
  ASSERT_EQ(stats.tunnels.size(), 2U);
  EXPECT_EQ(stats.tunnels[0].active + stats.tunnels[1].active, 2U);
}

TEST(TunnelManager, RevokedViewCutsWithinOneSecondWithoutNotice) {
  Managers m;
  Fd c = m.lab_connection();
  const auto t0 = std::chrono::steady_clock::now();
  m.a_view = false;  // no mode_changed(): the periodic re-check must notice
  EXPECT_EQ(transport::testing::read_all(c.get()), "");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(1));
  EXPECT_TRUE(m.a_audit.wait_ended("lab", "mode_cut"));
}

TEST(TunnelManager, StopOrdersCutOnNotice) {
  Managers m;
  Fd c = m.lab_connection();
  m.b_serve = false;
  m.b->mode_changed();
  EXPECT_EQ(transport::testing::read_all(c.get()), "");
  EXPECT_TRUE(m.b_audit.wait_ended("mllp", "mode_cut"));
}

}  // namespace
}  // namespace hiegate::daemon
