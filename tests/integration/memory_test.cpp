// The document memory budget ([daemon] document_memory_bytes) on real
// gateways: request bodies, contents read for an answer, documents fetched
// from a peer and cached copies are counted until their answer is written;
// what does not fit is refused at once with 503 `overloaded` and
// Retry-After, nothing is half-done, and the gateway keeps serving.
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "integration/network_fixture.hpp"
#include "support/http_client.hpp"

namespace hiegate::test {
namespace {

using namespace std::chrono_literals;

constexpr std::uint64_t kBudget = 1024 * 1024;  // the smallest allowed
constexpr std::uint64_t kPending = 900'000;     // an upload whose body has not come yet

class MemoryBudgetNetwork : public Network {
protected:
  /// `self` with a 1 MiB budget and 1 MiB bodies (and `extra_store`).
  std::unique_ptr<Gateway> make_small(const std::string& self, const std::string& extra_store = "",
                                      std::uint64_t budget = kBudget) {
    auto gw = std::make_unique<Gateway>("", "", std::vector<std::string>{}, self);
    std::string text = config_for(*gw, self, "", extra_store);
    text.replace(text.find("[daemon]\n"), 9, "[daemon]\ndocument_memory_bytes = " + std::to_string(budget) + "\n");
    text.replace(text.find("[local_api]\n"), 12, "[local_api]\nmax_body_bytes = " + std::to_string(budget) + "\n");
    gw->write_config(text);
    gw->start();
    return gw;
  }

  /// The bytes `gw` holds now, as its metrics say.
  static std::string held(const Gateway& gw) {
    const auto m = gw.get("/metrics");
    const auto at = m.body.find("\nhiegate_document_memory_bytes ");
    if (at == std::string::npos) return "?";
    const auto from = at + std::string("\nhiegate_document_memory_bytes ").size();
    return m.body.substr(from, m.body.find('\n', from) - from);
  }

  static void wait_held(const Gateway& gw, const std::string& want) {
    for (int i = 0; i < 200 && held(gw) != want; ++i) std::this_thread::sleep_for(10ms);
    ASSERT_EQ(held(gw), want);
  }

  /// A PUT whose headers have arrived and whose body has not: its bytes are
  /// held from the headers on.
  static std::unique_ptr<RawConn> pending_upload(const Gateway& gw) {
    auto c = std::make_unique<RawConn>(gw.tcp());
    EXPECT_TRUE(c->ok());
    EXPECT_TRUE(c->send("PUT /v1/documents/pending HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                        std::string(kToken) + "\r\nX-HIE-User: clerk-1\r\nContent-Type: application/json\r\n"
                        "Content-Length: " + std::to_string(kPending) + "\r\n\r\n"));
    wait_held(gw, std::to_string(kPending));
    return c;
  }

  static void expect_overloaded(const HttpResult& r) {
    EXPECT_EQ(r.status, 503) << r.body;
    const auto j = json::parse(r.body, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << r.body;
    EXPECT_EQ(j["error"]["code"], "overloaded") << r.body;
  }
};

std::string large_bundle(std::size_t pad) {
  return R"({"resourceType":"Bundle","type":"document","note":")" + std::string(pad, 'x') + "\"}";
}

TEST_F(MemoryBudgetNetwork, WhatDoesNotFitIsRefusedAtOnceAndServedOnceFreed) {
  auto a = make_small(kA);                             // keeps copies (the default)
  auto b = make_small(kB);
  auto c = make_small(kC, "cache_max_bytes = 0\n");  // asks B every time
  const std::string content = large_bundle(300'000);
  register_user(*a, "dr-sato", "physician");
  register_user(*c, "dr-sato", "physician");
  register_user(*b, "clerk-1", "clerk");
  publish(*b, "b-big", "NT-0100", "summary", content);
  consent(*b, "NT-0100", "2025-04-01");
  const std::string path = std::string("/v1/facilities/") + kB + "/documents/b-big";
  const auto first = a->call("GET", path, as("dr-sato"));
  ASSERT_EQ(first.status, 200) << first.body;
  wait_held(*a, "0");
  wait_held(*b, "0");

  {
    // B's budget taken by an upload in progress.
    const auto upload = pending_upload(*b);
    // B's own read of the document: refused before anything is read.
    const auto local = b->call("GET", "/v1/documents/b-big", {{"X-HIE-User", "clerk-1"}});
    expect_overloaded(local);
    EXPECT_EQ(local.headers.count("retry-after") ? local.headers.at("retry-after") : "", "1");
    // Another facility's fetch: B says overloaded, C passes it on as such.
    const auto fetched = c->call("GET", path, as("dr-sato"));
    expect_overloaded(fetched);
    // Another large upload does not fit either, and leaves nothing behind.
    const json body = {{"patient", "NT-0100"}, {"type", "summary"}, {"title", "t"}, {"created", "2026-11-20T10:00:00Z"},
                       {"content_type", "application/fhir+json"},
                       {"content_base64", crypto::to_base64(crypto::as_bytes(content))}};
    expect_overloaded(b->call("PUT", "/v1/documents/b-big-2", {{"X-HIE-User", "clerk-1"}}, body.dump()));
    EXPECT_EQ(b->call("GET", "/v1/documents/b-big-2", {{"X-HIE-User", "clerk-1"}}).status, 404);
    // Small requests are not counted, and B keeps serving them.
    EXPECT_EQ(b->get("/v1/status").status, 200);
  }
  wait_held(*b, "0");  // the upload's connection is gone: its bytes are free
  EXPECT_EQ(b->call("GET", "/v1/documents/b-big", {{"X-HIE-User", "clerk-1"}}).status, 200);

  {
    // A's budget taken: its cached copy is not read into memory.
    const auto upload_a = pending_upload(*a);
    expect_overloaded(a->call("GET", path, as("dr-sato")));
    // C's budget taken: B's answer is refused from its headers, unread.
    const auto upload_c = pending_upload(*c);
    expect_overloaded(c->call("GET", path, as("dr-sato")));
  }
  wait_held(*a, "0");
  wait_held(*c, "0");
  for (const auto* gw : {a.get(), c.get()}) {
    const auto r = gw->call("GET", path, as("dr-sato"));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(crypto::from_base64(json::parse(r.body)["content_base64"].get<std::string>()).value_or(crypto::Bytes{}),
              crypto::Bytes(content.begin(), content.end()));
  }
  wait_held(*a, "0");
  wait_held(*c, "0");
  // B refused its own read, C's fetch and the upload; C its peer's answer.
  EXPECT_NE(b->get("/metrics").body.find("hiegate_document_memory_refused 3\n"), std::string::npos);
  EXPECT_NE(c->get("/metrics").body.find("hiegate_document_memory_refused 1\n"), std::string::npos);
}

/// A raw read of `path` on `gw` that reads only the response's head: the
/// rest waits in a small receive buffer, as for a client that stalls.
std::unique_ptr<RawConn> stalled_download(const Gateway& gw, const std::string& path,
                                          const std::string& user = "clerk-1") {
  auto c = std::make_unique<RawConn>(gw.tcp());
  EXPECT_TRUE(c->ok());
  const int small = 16 * 1024;
  ::setsockopt(c->fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  EXPECT_TRUE(c->send("GET " + path + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + std::string(kToken) +
                      "\r\nX-HIE-User: " + user + "\r\nX-HIE-Purpose: treatment\r\n"
                      "Accept: application/octet-stream\r\n\r\n"));
  return c;
}

/// Whether a raw answer's X-HIE-Document says it came from the cache.
bool cached(const HttpResult& r) {
  const auto h = r.headers.find("x-hie-document");
  if (h == r.headers.end()) return false;
  const auto meta = crypto::from_base64(h->second);
  if (!meta) return false;
  return json::parse(std::string(meta->begin(), meta->end())).value("cached", false);
}

/// Everything `c` receives until it closes or `want` body bytes arrived.
std::string drain(RawConn& c, std::size_t want) {
  std::string got;
  for (int i = 0; i < 2000; ++i) {
    const auto piece = c.read_some(2s);
    if (piece.empty()) break;
    got += piece;
    const auto head = got.find("\r\n\r\n");
    if (head != std::string::npos && got.size() - head - 4 >= want) break;
  }
  return got;
}

std::string body_of(const std::string& raw) {
  const auto head = raw.find("\r\n\r\n");
  return head == std::string::npos ? std::string() : raw.substr(head + 4);
}

TEST_F(MemoryBudgetNetwork, LargeDocumentsAreAnsweredAWindowAtATime) {
  constexpr std::uint64_t kLarge = 16 * 1024 * 1024;
  constexpr std::size_t kSize = 10'000'000;
  constexpr std::uint64_t kWindow = 256 * 1024;
  auto b = make_small(kB, "", kLarge);
  auto c = make_small(kC, "cache_max_bytes = 0\n", kLarge);
  register_user(*b, "clerk-1", "clerk");
  register_user(*c, "dr-sato", "physician");
  std::string content = large_bundle(kSize);
  publish(*b, "b-huge", "NT-0200", "summary", content);
  consent(*b, "NT-0200", "2025-04-01");
  wait_held(*b, "0");

  // Four clients that stop reading: read whole, they would hold 40 MB of a
  // 16 MiB budget and three would be refused; a window at a time, each
  // holds one window.
  std::vector<std::unique_ptr<RawConn>> stalled;
  for (int i = 0; i < 4; ++i) stalled.push_back(stalled_download(*b, "/v1/documents/b-huge"));
  wait_held(*b, std::to_string(4 * kWindow));
  EXPECT_EQ(b->get("/v1/status").status, 200);  // and B serves others meanwhile
  for (auto& conn : stalled) {
    const auto got = drain(*conn, content.size());
    EXPECT_EQ(status_of(got), 200);
    EXPECT_NE(got.find("Content-Length: " + std::to_string(content.size())), std::string::npos);
    EXPECT_TRUE(body_of(got) == content) << "body of " << body_of(got).size() << " bytes";
  }
  stalled.clear();
  wait_held(*b, "0");

  // The same document fetched by another facility: B writes it over mutual
  // TLS a window at a time, and C, which keeps no copies, passes it on as it
  // arrives: a client that stalls holds a window at each.
  const std::string remote = std::string("/v1/facilities/") + kB + "/documents/b-huge";
  {
    auto via_c = stalled_download(*c, remote, "dr-sato");
    wait_held(*c, std::to_string(kWindow));
    wait_held(*b, std::to_string(kWindow));
    const auto got = drain(*via_c, content.size());
    EXPECT_EQ(status_of(got), 200) << got.substr(0, 300);
    EXPECT_TRUE(body_of(got) == content) << "body of " << body_of(got).size() << " bytes";
  }
  wait_held(*b, "0");
  wait_held(*c, "0");

  // A gateway that keeps copies keeps those up to cache_max_document_bytes;
  // a larger document is passed on as it arrives, every time.
  auto a = make_small(kA, "cache_max_document_bytes = 1048576\n", kLarge);
  register_user(*a, "dr-sato", "physician");
  const std::map<std::string, std::string> raw = {
      {"X-HIE-User", "dr-sato"}, {"X-HIE-Purpose", "treatment"}, {"Accept", "application/octet-stream"}};
  publish(*b, "b-small", "NT-0200", "summary", large_bundle(300'000));
  for (int i = 0; i < 2; ++i) {
    const auto large = a->call("GET", remote, raw);
    ASSERT_EQ(large.status, 200) << large.body.substr(0, 300);
    EXPECT_TRUE(large.body == content);
    EXPECT_FALSE(cached(large));
    const auto small = a->call("GET", std::string("/v1/facilities/") + kB + "/documents/b-small", raw);
    ASSERT_EQ(small.status, 200) << small.body.substr(0, 300);
    EXPECT_EQ(small.body, large_bundle(300'000));
    EXPECT_EQ(cached(small), i == 1);
  }
  wait_held(*a, "0");
  wait_held(*b, "0");

  // Replaced while a client stalls: the rest is not served from the new
  // content; the answer stops short of its Content-Length.
  auto slow = stalled_download(*b, "/v1/documents/b-huge");
  wait_held(*b, std::to_string(kWindow));
  std::string other = content;
  std::replace(other.begin(), other.end(), 'x', 'y');
  publish(*b, "b-huge", "NT-0200", "summary", other);
  const auto cut = drain(*slow, content.size());
  EXPECT_EQ(status_of(cut), 200);
  const auto part = body_of(cut);
  EXPECT_LT(part.size(), content.size());
  EXPECT_EQ(part, content.substr(0, part.size()));
  EXPECT_TRUE(slow->closed_by_peer(2s));
  slow.reset();
  wait_held(*b, "0");
}

}  // namespace
}  // namespace hiegate::test
