// A stop order pushed while a long download from another facility is being
// read by a slow client cuts that download within a second of its acceptance.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>

#include <nlohmann/json.hpp>

#include "hiegate/crypto/encoding.hpp"
#include "integration/live_orders.hpp"

namespace hiegate::test {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;


/// Reads at most `chunk` bytes per call, so the sender stays blocked on us.
class SlowReader {
public:
  explicit SlowReader(int fd) : fd_(fd) {
    const int small = 16 * 1024;
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  }
  /// One read of up to `chunk` bytes, waiting at most 20 ms; false once the
  /// peer closed or reset the connection.
  bool step(std::size_t chunk = 4096) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 20) <= 0) return true;
    char buf[4096];
    const auto n = ::recv(fd_, buf, std::min(chunk, sizeof buf), 0);
    if (n <= 0) return false;
    if (head_.size() < 64) head_.append(buf, static_cast<std::size_t>(n));
    total_ += static_cast<std::size_t>(n);
    return true;
  }
  [[nodiscard]] std::size_t total() const { return total_; }
  [[nodiscard]] const std::string& head() const { return head_; }

private:
  int fd_;
  std::size_t total_ = 0;
  std::string head_;
};

class DirectiveCut : public DirectiveNetwork {};

TEST_F(DirectiveCut, APushedStopCutsALongPeerDownloadWithinASecond) {
  std::map<std::string, std::uint16_t> ports;
  for (const char* f : kFacilities) ports[f] = free_port();
  auto a = make(kA, ports, "fetch_timeout = \"15s\"\n", "consent_evidence_max_age = \"0s\"\n");
  auto b = make(kB, ports, "", "consent_evidence_max_age = \"0s\"\n");
  const std::map<std::string, std::uint16_t> both = {{kA, ports[kA]}, {kB, ports[kB]}};
  {
    const auto [o, h] = orders_.signed_set(1, json::array());
    const auto r = push(both, {o, h});
    ASSERT_EQ(r.status, 0) << r.output;
  }
  ASSERT_EQ(a->put_user("dr-sato", json{{"role", "physician"}, {"department", "内科"}}.dump()).status,
            200);
  ASSERT_EQ(b->put_user("clerk-1", json{{"role", "clerk"}, {"department", "医事"}}.dump()).status,
            200);
  // 12 MiB of content: far more than the socket buffers between A and us.
  std::string content(12U << 20, 'x');
  content.replace(0, 5, "%PDF-");
  const json doc = {{"patient", "NT-0001"},
                    {"type", "summary"},
                    {"title", "画像レポート"},
                    {"created", "2026-11-20T10:00:00Z"},
                    {"content_type", "application/pdf"},
                    {"content_base64", crypto::to_base64(crypto::as_bytes(content))}};
  auto r = b->call("PUT", "/v1/documents/big-1", {{"X-HIE-User", "clerk-1"}}, doc.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  r = b->call("PUT", "/v1/consents/NT-0001", {{"X-HIE-User", "clerk-1"}},
              json{{"signed_on", "2025-04-01"}, {"scope", "*"}, {"form_ref", "paper-0001"}}.dump());
  ASSERT_EQ(r.status, 200) << r.body;

  RawConn conn(a->tcp());
  ASSERT_TRUE(conn.ok());
  SlowReader reader(conn.fd());
  ASSERT_TRUE(conn.send(std::string("GET /v1/facilities/") + kB +
                        "/documents/big-1 HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer " + kToken +
                        "\r\nX-HIE-User: dr-sato\r\nX-HIE-Purpose: treatment\r\n\r\n"));
  // The answer has started to flow: A fetched the document from B.
  const auto started_by = std::chrono::steady_clock::now() + 15s;
  while (reader.total() < 64 * 1024 && std::chrono::steady_clock::now() < started_by) {
    ASSERT_TRUE(reader.step()) << "closed early: " << reader.head() << "\n" << a->log();
  }
  ASSERT_GE(reader.total(), 64U * 1024) << a->log();
  ASSERT_EQ(status_of(reader.head()), 200) << reader.head();

  const auto [o, h] = orders_.signed_set(2, json::array({LiveOrders::stop("2026-0050", json::array({kA}))}));
  const auto pushed = push({{kA, ports[kA]}}, {o, h});
  ASSERT_EQ(pushed.status, 0) << pushed.output;
  const auto accepted = std::chrono::steady_clock::now();
  bool open = true;
  while (open && std::chrono::steady_clock::now() - accepted < 3s) open = reader.step();
  const auto cut_after = std::chrono::steady_clock::now() - accepted;
  EXPECT_FALSE(open) << "the download was not cut";
  EXPECT_LT(cut_after, 1500ms);
  EXPECT_LT(reader.total(), content.size()) << "the whole document arrived";

  // New requests are refused with the order's id.
  r = a->call("PUT", "/v1/documents/doc-1", {{"X-HIE-User", "clerk-1"}}, "{}");
  ASSERT_EQ(r.status, 503) << r.body << r.error;
  EXPECT_EQ(json::parse(r.body)["error"]["order"], "2026-0050") << r.body;
  // So is a new fetch (an asynchronous handler, registered in flight while
  // its function is already forbidden): the EHR gets the refusal, not a cut.
  r = a->call("GET", std::string("/v1/facilities/") + kB + "/documents/big-1",
              {{"X-HIE-User", "dr-sato"}, {"X-HIE-Purpose", "treatment"}});
  ASSERT_EQ(r.status, 503) << r.body << r.error;
  EXPECT_EQ(json::parse(r.body)["error"]["order"], "2026-0050") << r.body;
}

}  // namespace
}  // namespace hiegate::test
