// What another facility sends passes the same content checks as what this
// facility publishes (利用規程 第8条5号): an executable labelled as a PDF is
// never handed to the EHR nor cached, whether it arrives whole or is passed
// on as it arrives. B here is a stand-in that answers whatever the test says.
#include <gtest/gtest.h>

#include <mutex>

#include "integration/fake_peer.hpp"
#include "integration/network_fixture.hpp"

namespace hiegate::test {
namespace {

class PeerContent : public Network {
protected:
  /// B answering every document fetch with what serve() last set.
  std::unique_ptr<FakePeer> fake_b() {
    transport::PeerRoute r;
    r.method = "GET";
    r.path = "/peer/v1/documents/*";
    r.handler = [this](const transport::PeerRequest&) {
      ++fetches_;
      std::lock_guard lk(mu_);
      const json meta = {{"patient", "NT-0001"}, {"type", "summary"},     {"title", "t"},
                         {"created", "2026-11-01T09:00:00Z"}, {"content_type", type_}};
      transport::PeerResponse res;
      res.content_type = "application/octet-stream";
      res.headers.emplace_back("X-HIE-Document", crypto::to_base64(crypto::as_bytes(meta.dump())));
      res.body = content_;
      return res;
    };
    return std::make_unique<FakePeer>(pki_->path() / "pki", pki_->path() / "pki" / "facilities" / kB,
                                      std::vector<transport::PeerRoute>{r}, ports_[kB]);
  }
  HttpResult fetch(const Gateway& a, bool raw) {
    auto h = as("dr-sato");
    if (raw) h["Accept"] = "application/octet-stream";
    return a.call("GET", std::string("/v1/facilities/") + kB + "/documents/b-1", h);
  }
  void serve(std::string type, std::string content) {
    std::lock_guard lk(mu_);
    type_ = std::move(type);
    content_ = std::move(content);
  }
  std::atomic<int> fetches_{0};
  std::mutex mu_;
  std::string type_, content_;
};

const std::string kExecutable = std::string("MZ\x90\x00\x03\x00\x00\x00", 8) + std::string(1000, 'x');

TEST_F(PeerContent, AnExecutableLabelledAsAPdfIsRefusedAndNotCached) {
  auto b = fake_b();
  serve("application/pdf", kExecutable);
  auto a = make(kA);
  register_user(*a, "dr-sato", "physician");
  for (const bool raw : {false, true}) {
    const auto r = fetch(*a, raw);
    EXPECT_EQ(r.status, 502) << r.body;
    EXPECT_EQ(json::parse(r.body, nullptr, false)["error"]["code"], "content_forbidden") << r.body;
    EXPECT_EQ(r.body.find("MZ"), std::string::npos);
  }
  // Nothing was kept: each fetch went to B again, and the refusal is logged.
  EXPECT_EQ(fetches_, 2);
  EXPECT_TRUE(wait_for_line(a->dir() / "hiegated.log", "peer_content_refused")) << a->log();
}

TEST_F(PeerContent, AContentPassedOnAsItArrivesIsCheckedBeforeItsFirstByte) {
  // No copies kept: a raw answer above one window is passed on as it arrives.
  const std::string pdf = "%PDF-1.7\n" + std::string(600 * 1024, 'p');
  auto b = fake_b();
  auto a = make(kA, "", "cache_max_bytes = 0\n");
  register_user(*a, "dr-sato", "physician");
  serve("application/pdf", pdf);
  const auto good = fetch(*a, true);
  ASSERT_EQ(good.status, 200) << good.body.substr(0, 200);
  EXPECT_EQ(good.body, pdf);
  serve("application/pdf", kExecutable + std::string(600 * 1024, 'x'));
  const auto bad = fetch(*a, true);
  // The answer had begun (200 and its length); it is cut before any byte.
  EXPECT_TRUE(bad.status != 200 || bad.body.empty()) << bad.status;
  EXPECT_EQ(bad.body.find("MZ"), std::string::npos);
  // And the gateway goes on serving.
  EXPECT_EQ(a->get("/v1/health").status, 200);
}

}  // namespace
}  // namespace hiegate::test
