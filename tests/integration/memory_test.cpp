// The document memory budget ([daemon] document_memory_bytes) on real
// gateways: request bodies, contents read for an answer, documents fetched
// from a peer and cached copies are counted until their answer is written;
// what does not fit is refused at once with 503 `overloaded` and
// Retry-After, nothing is half-done, and the gateway keeps serving.
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
  std::unique_ptr<Gateway> make_small(const std::string& self, const std::string& extra_store = "") {
    auto gw = std::make_unique<Gateway>("", "", std::vector<std::string>{}, self);
    std::string text = config_for(*gw, self, "", extra_store);
    text.replace(text.find("[daemon]\n"), 9, "[daemon]\ndocument_memory_bytes = " + std::to_string(kBudget) + "\n");
    text.replace(text.find("[local_api]\n"), 12, "[local_api]\nmax_body_bytes = " + std::to_string(kBudget) + "\n");
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

}  // namespace
}  // namespace hiegate::test
