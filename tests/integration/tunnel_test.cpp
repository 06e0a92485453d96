// Service tunnels between two real gateways with a dev PKI: an HL7-like echo
// backend at facility B reached from facility A's local tunnel listener, a
// service B does not offer A, and the audit trails of both.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <random>
#include <thread>

#include "hiegate/crypto/encoding.hpp"
#include "hiegate/crypto/primitives.hpp"
#include "integration/dev_network.hpp"
#include "integration/state_kit.hpp"
#include "policy/directive_kit.hpp"
#include "hiegate/policy/rfc3339.hpp"

namespace hiegate::test {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr const char* kC = "1300000003";  // the only facility allowed to B's "dicom"

// A loopback TCP server echoing every byte back and half-closing when its
// client does; one thread per connection, all joined on destruction.
class EchoServer {
public:
  EchoServer() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&sa), len) != 0 || ::listen(fd_, 16) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&sa), &len) != 0) {
      throw std::runtime_error("echo server: cannot listen");
    }
    port_ = ntohs(sa.sin_port);
    acceptor_ = std::thread([this] {
      for (;;) {
        const int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (c < 0) return;  // shut down
        ++accepted_;
        workers_.emplace_back([c] {
          char buf[16384];
          for (;;) {
            const ssize_t n = ::read(c, buf, sizeof buf);
            if (n <= 0) break;
            for (ssize_t off = 0; off < n;) {
              const ssize_t w = ::send(c, buf + off, static_cast<std::size_t>(n - off), MSG_NOSIGNAL);
              if (w <= 0) break;
              off += w;
            }
          }
          ::shutdown(c, SHUT_WR);
          ::close(c);
        });
      }
    });
  }
  ~EchoServer() {
    ::shutdown(fd_, SHUT_RDWR);
    acceptor_.join();
    ::close(fd_);
    for (auto& w : workers_) w.join();
  }
  EchoServer(const EchoServer&) = delete;
  EchoServer& operator=(const EchoServer&) = delete;
  [[nodiscard]] std::uint16_t port() const { return port_; }
  [[nodiscard]] int accepted() const { return accepted_; }

private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<int> accepted_{0};
  std::thread acceptor_;
  std::vector<std::thread> workers_;  // touched by the acceptor only, until it is joined
};

class Tunnels : public DevNetwork {
protected:
  void SetUp() override {
    for (const char* f : {kA, kB, kC}) {
      peer_ports_[f] = free_port();
      tunnel_ports_[f] = free_port();
    }
    lab_port_ = free_port();
    pacs_port_ = free_port();
  }

  std::unique_ptr<Gateway> make(const std::string& self, const std::string& tunnels) {
    auto gw = std::make_unique<Gateway>("", "", std::vector<std::string>{}, self);
    gw->write_config(gw->config_text("") + tls_and_peers(self, peer_ports_, tunnel_ports_) + tunnels);
    gw->start();
    return gw;
  }

  // A calls "lab" (B's mllp, allowed) and "pacs" (B's dicom, allowed to C only).
  std::string a_tunnels() const {
    return "[[tunnels.out]]\nname = \"lab\"\nlisten = \"127.0.0.1:" + std::to_string(lab_port_) +
           "\"\nfacility = \"" + kB + "\"\nservice = \"mllp\"\n" +
           "[[tunnels.out]]\nname = \"pacs\"\nlisten = \"127.0.0.1:" + std::to_string(pacs_port_) +
           "\"\nfacility = \"" + kB + "\"\nservice = \"dicom\"\n";
  }
  std::string b_tunnels(std::uint16_t backend) {
    const std::string be = "127.0.0.1:" + std::to_string(backend);
    return "[tunnels]\nlisten_address = \"127.0.0.1\"\nport = " + std::to_string(tunnel_ports_[kB]) +
           "\n[[tunnels.in]]\nservice = \"mllp\"\nbackend = \"" + be + "\"\nallow = [\"" + kA + "\"]\n" +
           "[[tunnels.in]]\nservice = \"dicom\"\nbackend = \"" + be + "\"\nallow = [\"" + kC + "\"]\n";
  }

  /// A's configuration with one more outbound tunnel, lab2 on `port`, then SIGHUP.
  void reload_with_lab2(Gateway& a, std::uint16_t port) {
    a.write_config(a.config_text("") + tls_and_peers(kA, peer_ports_, tunnel_ports_) + a_tunnels() +
                   "[[tunnels.out]]\nname = \"lab2\"\nlisten = \"127.0.0.1:" + std::to_string(port) +
                   "\"\nfacility = \"" + kB + "\"\nservice = \"mllp\"\n");
    a.process().signal(SIGHUP);
  }
  /// B with its lab backend, A with its outbound tunnels, and one
  /// connection open through A's lab tunnel.
  struct LabLink {
    explicit LabLink(Tunnels& t)
        : b(t.make(kB, t.b_tunnels(echo.port()))),
          a(t.make(kA, t.a_tunnels())),
          open(Endpoint{"127.0.0.1:" + std::to_string(t.lab_port_)}) {}
    EchoServer echo;
    std::unique_ptr<Gateway> b, a;
    RawConn open;
  };
  static std::string digest(const Gateway& gw) { return json::parse(gw.get("/v1/status").body)["config"]["digest"]; }

  static std::vector<json> audit_records(const Gateway& gw, const std::string& type) {
    const auto r = state::ctl(gw, {"audit", "export"});
    EXPECT_EQ(r.status, 0) << r.output;
    std::vector<json> out;
    std::istringstream in(r.output);
    for (std::string line; std::getline(in, line);) {
      const auto j = json::parse(line, nullptr, false);
      if (j.is_object() && j.value("type", "") == type) out.push_back(j);
    }
    return out;
  }

  std::map<std::string, std::uint16_t> peer_ports_, tunnel_ports_;
  std::uint16_t lab_port_ = 0, pacs_port_ = 0;
};

std::string mllp(const std::string& msg) { return "\x0b" + msg + "\x1c\x0d"; }

// An exchange in one round trip on an open connection.
std::string round_trip(RawConn& c, const std::string& msg) {
  if (!c.send(msg)) return {};
  std::string got;
  eventually([&] {
    got += c.read_some(100ms);
    return got.size() >= msg.size();
  });
  return got;
}

TEST_F(Tunnels, EchoThroughTwoGatewaysAuditedAndAForeignServiceRefused) {
  EchoServer echo;
  auto b = make(kB, b_tunnels(echo.port()));
  auto a = make(kA, a_tunnels());
  const Endpoint lab{"127.0.0.1:" + std::to_string(lab_port_)};

  // An HL7 v2 exchange over MLLP: message and answer on one connection.
  {
    RawConn c(lab);
    ASSERT_TRUE(c.ok());
    const std::string adt = mllp("MSH|^~\\&|LAB|1300000001|EHR|1300000002|202611201000||ADT^A01|MSG0001|P|2.5\r"
                                 "PID|1||NT-0001^^^nishitama||ニシタマ^タロウ\r");
    EXPECT_EQ(round_trip(c, adt), adt) << a->log() << b->log();
    const std::string second = mllp("MSH|^~\\&|LAB|1300000001|EHR|1300000002|202611201001||ORU^R01|MSG0002|P|2.5\r");
    EXPECT_EQ(round_trip(c, second), second);
  }

  // A large random payload, sent then half-closed: every byte comes back,
  // then the end of the stream.
  std::string bulk(1 << 20, '\0');
  std::mt19937 rng(11);
  for (auto& ch : bulk) ch = static_cast<char>(rng());
  std::string echoed;
  {
    RawConn c(lab);
    ASSERT_TRUE(c.ok());
    std::thread writer([&] {
      c.send(bulk);
      ::shutdown(c.fd(), SHUT_WR);
    });
    echoed = c.read_all(20s);
    writer.join();
  }
  EXPECT_EQ(echoed.size(), bulk.size());
  EXPECT_EQ(crypto::to_hex(crypto::sha256(echoed)), crypto::to_hex(crypto::sha256(bulk)));
  const int backend_connections = echo.accepted();
  EXPECT_EQ(backend_connections, 2);

  // B offers "dicom" to C only: A's connection is closed without a byte and
  // B's backend never sees it.
  {
    RawConn c(Endpoint{"127.0.0.1:" + std::to_string(pacs_port_)});
    ASSERT_TRUE(c.ok());
    c.send("\x01\x00 A-ASSOCIATE-RQ");
    EXPECT_TRUE(c.closed_by_peer(5s));
  }
  EXPECT_EQ(echo.accepted(), backend_connections);

  // Both sides audited each connection: who, bytes each way, how it ended.
  ASSERT_EQ(a->stop(), 0);
  ASSERT_EQ(b->stop(), 0);
  // Each admitted connection was recorded first as "opened", before any
  // byte flowed; A's three all were, B's two that passed its allow-list.
  const auto opened = [](const json& r) { return r["outcome_desc"] == "opened"; };
  const auto outs = audit_records(*a, "tunnel_out");
  ASSERT_EQ(outs.size(), 6U) << json(outs).dump(1);
  EXPECT_EQ(std::count_if(outs.begin(), outs.end(), opened), 3);
  EXPECT_TRUE(opened(outs.front())) << json(outs).dump(1);
  int closed = 0, refused = 0;
  for (const auto& r : outs) {
    EXPECT_EQ(r["peer_facility"], kB);
    if (r["outcome_desc"] == "closed") {
      ++closed;
      EXPECT_NE(r["detail"].get<std::string>().find("lab mllp"), std::string::npos) << r;
    } else if (r["outcome_desc"] == "refused_by_peer") {
      ++refused;
      EXPECT_NE(r["detail"].get<std::string>().find("pacs dicom"), std::string::npos) << r;
    }
  }
  EXPECT_EQ(closed, 2);
  EXPECT_EQ(refused, 1);
  const std::string bulk_bytes = "to_peer=" + std::to_string(bulk.size()) + " from_peer=" + std::to_string(bulk.size());
  EXPECT_TRUE(std::any_of(outs.begin(), outs.end(), [&](const json& r) {
    return r["detail"].get<std::string>().find(bulk_bytes) != std::string::npos;
  })) << json(outs).dump(1);

  const auto ins = audit_records(*b, "tunnel_in");
  ASSERT_EQ(ins.size(), 5U) << json(ins).dump(1);
  EXPECT_EQ(std::count_if(ins.begin(), ins.end(), opened), 2);
  EXPECT_EQ(std::count_if(ins.begin(), ins.end(), [](const json& r) { return r["outcome_desc"] == "forbidden"; }), 1);
  for (const auto& r : ins) EXPECT_EQ(r["peer_facility"], kA);
}

TEST_F(Tunnels, ReloadAddsATunnelWithoutTouchingAnOpenOne) {
  LabLink link(*this);
  auto& [echo, b, a, open] = link;
  ASSERT_TRUE(open.ok());
  EXPECT_EQ(round_trip(open, mllp("MSH|before")), mllp("MSH|before"));

  const std::string before = digest(*a);
  const auto lab2 = free_port();
  reload_with_lab2(*a, lab2);
  ASSERT_TRUE(eventually([&] { return digest(*a) != before; })) << a->log();

  RawConn added(Endpoint{"127.0.0.1:" + std::to_string(lab2)});
  ASSERT_TRUE(added.ok());
  EXPECT_EQ(round_trip(added, mllp("MSH|new")), mllp("MSH|new"));
  EXPECT_EQ(round_trip(open, mllp("MSH|after")), mllp("MSH|after"));  // the first connection carried on
  EXPECT_EQ(echo.accepted(), 2);
}

// A reload whose new tunnel cannot listen (something else holds its port)
// changes nothing: the configuration in force stays the previous one, the
// open tunnel carries on, and the refusal is logged and audited. Once the
// port is free the same file reloads.
TEST_F(Tunnels, AReloadWhoseTunnelCannotListenChangesNothing) {
  LabLink link(*this);
  auto& [echo, b, a, open] = link;
  ASSERT_TRUE(open.ok());
  EXPECT_EQ(round_trip(open, mllp("MSH|before")), mllp("MSH|before"));
  const std::string before = digest(*a);

  const auto taken = free_port();
  const int squatter = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(squatter, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(taken);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(squatter, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
  ASSERT_EQ(::listen(squatter, 4), 0);
  reload_with_lab2(*a, taken);
  ASSERT_TRUE(eventually([&] {
    return a->log().find("configuration rejected, the previous one stays in force: tunnels") != std::string::npos;
  })) << a->log();
  EXPECT_EQ(digest(*a), before);
  EXPECT_EQ(round_trip(open, mllp("MSH|after")), mllp("MSH|after"));
  RawConn fresh(Endpoint{"127.0.0.1:" + std::to_string(lab_port_)});  // the old tunnel still accepts
  ASSERT_TRUE(fresh.ok());
  EXPECT_EQ(round_trip(fresh, mllp("MSH|fresh")), mllp("MSH|fresh"));

  ::close(squatter);
  a->process().signal(SIGHUP);
  ASSERT_TRUE(eventually([&] { return digest(*a) != before; })) << a->log();
  RawConn added(Endpoint{"127.0.0.1:" + std::to_string(taken)});
  ASSERT_TRUE(added.ok());
  EXPECT_EQ(round_trip(added, mllp("MSH|new")), mllp("MSH|new"));

  const auto reloads = audit_records(*a, "config_reload");
  ASSERT_EQ(reloads.size(), 2U) << json(reloads).dump(1);
  EXPECT_EQ(reloads[0]["outcome"], 8) << reloads[0].dump();  // serious failure
  EXPECT_NE(reloads[0]["detail"].get<std::string>().find("rejected: tunnels"), std::string::npos);
  EXPECT_EQ(reloads[1]["outcome"], 0) << reloads[1].dump();
}

// The secretariat's orders delivered to A (through its local API), in force
// at once; then what A's tunnel to B saw.
class OrderedTunnels : public Tunnels {
protected:
  std::unique_ptr<Gateway> start_a(int echo_port) {
    b_ = make(kB, b_tunnels(echo_port));
    anchor_ = keys_.write("keyset.json", kit_.keyset(1));
    auto a = make(kA, a_tunnels() + "[directives]\nkeyset = \"" + anchor_.string() + "\"\n");
    return a;
  }
  void deliver(const Gateway& a, std::uint64_t seq, const json& orders) {
    const auto now = std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
    const std::string issued = policy::format_rfc3339(now - std::chrono::minutes(1));
    const std::string expires = policy::format_rfc3339(now + std::chrono::hours(23));
    const std::string body = policy::testing::DirectiveKit::orders_body(seq, orders, 1, issued);
    const auto r = a.call("POST", "/v1/directives", {},
                          "[" + kit_.signed_orders(body) + "," +
                              kit_.signed_heartbeat(
                                  policy::testing::DirectiveKit::heartbeat_body(seq, seq, body, issued, expires)) +
                              "]");
    EXPECT_EQ(r.status, 200) << r.body;
  }
  /// An open connection through A's tunnel is cut within about a second and
  /// a new one refused, audited at A as `cut` and `refused`.
  void expect_cut(Gateway& a, EchoServer& echo, const json& orders, const std::string& cut,
                  const std::string& refused_code) {
    deliver(a, 1, json::array());
    RawConn open(Endpoint{"127.0.0.1:" + std::to_string(lab_port_)});
    ASSERT_TRUE(open.ok());
    ASSERT_EQ(round_trip(open, mllp("MSH|before")), mllp("MSH|before")) << a.log();
    deliver(a, 2, orders);
    const auto cut_from = std::chrono::steady_clock::now();
    EXPECT_TRUE(open.closed_by_peer(3s));
    EXPECT_LT(std::chrono::steady_clock::now() - cut_from, 1500ms);
    RawConn refused(Endpoint{"127.0.0.1:" + std::to_string(lab_port_)});
    EXPECT_TRUE(refused.closed_by_peer(3s));
    EXPECT_EQ(echo.accepted(), 1);
    ASSERT_EQ(a.stop(), 0);
    const auto outs = audit_records(a, "tunnel_out");
    for (const auto& code : {cut, refused_code}) {
      const long expected = code == cut && code == refused_code ? 2 : 1;  // one cut, one refused
      EXPECT_EQ(std::count_if(outs.begin(), outs.end(), [&](const json& r) { return r["outcome_desc"] == code; }),
                expected)
          << code << "\n" << json(outs).dump(1);
    }
  }
  policy::testing::DirectiveKit kit_;
  TempDir keys_;
  std::filesystem::path anchor_;
  std::unique_ptr<Gateway> b_;
};

// The secretariat stops facility A while a tunnel carries traffic: the open
// connection is cut within a second, a new one is refused, both audited.
TEST_F(OrderedTunnels, AStopOrderCutsALiveTunnel) {
  EchoServer echo;
  auto a = start_a(echo.port());
  expect_cut(*a, echo, json::array({{{"id", "m1"}, {"action", "stop"}, {"audience", "*"}, {"reason", "maintenance"}}}),
             "mode_cut", "refused_mode");
}

// Facility B is suspended: A's tunnel to B stops the same way, as
// `facility_suspended` (A itself is not stopped).
TEST_F(OrderedTunnels, ASuspendedFacilitysTunnelIsCut) {
  EchoServer echo;
  auto a = start_a(echo.port());
  expect_cut(*a, echo,
             json::array({{{"id", "s1"}, {"action", "suspend_facility"}, {"audience", "*"}, {"facility", kB},
                           {"reason", "violation"}}}),
             "facility_suspended", "facility_suspended");
}

}  // namespace
}  // namespace hiegate::test
