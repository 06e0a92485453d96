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

// A fetch that names its patient gets only that patient's document, also
// from a peer that does not check this itself and from a kept copy; the
// refusal is recorded under the document's own patient.
TEST_F(PeerContent, AFetchNamingAnotherPatientIsRefusedWhateverThePeerSends) {
  auto b = fake_b();
  serve("text/plain", "hello");
  auto a = make(kA);
  register_user(*a, "dr-sato", "physician");
  const std::string url = std::string("/v1/facilities/") + kB + "/documents/b-1";
  auto named = as("dr-sato");
  named["X-HIE-Patient"] = "NT-0004";  // the document is NT-0001's
  const auto refused = [&](const HttpResult& r) {
    EXPECT_EQ(r.status, 403) << r.body;
    EXPECT_EQ(json::parse(r.body, nullptr, false)["error"]["code"], "patient_mismatch") << r.body;
    EXPECT_EQ(r.body.find("hello"), std::string::npos);
  };
  refused(a->call("GET", url, named));
  named["Accept"] = "application/octet-stream";
  refused(a->call("GET", url, named));
  // Fetched for its own patient, it is kept; the kept copy is refused too.
  ASSERT_EQ(fetch(*a, false).status, 200);
  refused(a->call("GET", url, named));
  named["X-HIE-Patient"] = "NT-0001";
  const auto own = a->call("GET", url, named);
  EXPECT_EQ(own.status, 200) << own.body;
  EXPECT_EQ(own.body, "hello");
  const auto report = run({binary("hiegatectl").string(), "audit", "report", "--patient", "NT-0001", "--state-dir",
                           (a->dir() / "state").string(), "--key", (a->dir() / "master-key").string()});
  ASSERT_EQ(report.status, 0) << report.output;
  EXPECT_NE(report.output.find("patient_mismatch"), std::string::npos) << report.output;
}

// Another facility's gateway may be broken or taken over: whatever it
// answers, this gateway neither crashes nor passes on more than the known
// metadata fields, each of its type, and a refusal is always a refusal.
TEST_F(PeerContent, AHostilePeerCanNeitherCrashNorMisleadTheGateway) {
  std::mutex mu;
  transport::PeerResponse answer;
  const auto route = [&](std::string path) {
    transport::PeerRoute r;
    r.method = "GET";
    r.path = std::move(path);
    r.handler = [&](const transport::PeerRequest&) {
      std::lock_guard lk(mu);
      return answer;
    };
    return r;
  };
  FakePeer b(pki_->path() / "pki", pki_->path() / "pki" / "facilities" / kB,
             {route("/peer/v1/patients/*"), route("/peer/v1/documents/*")}, ports_[kB]);
  auto a = make(kA);
  register_user(*a, "dr-sato", "physician");
  const auto set = [&](int status, std::string body, std::string content_type = "application/json",
                       std::string meta = "") {
    std::lock_guard lk(mu);
    answer = transport::PeerResponse{};
    answer.status = status;
    answer.body = std::move(body);
    answer.content_type = std::move(content_type);
    if (!meta.empty()) answer.headers.emplace_back("X-HIE-Document", crypto::to_base64(crypto::as_bytes(meta)));
  };
  const auto list = [&] {
    const auto r = a->call("GET", "/v1/patients/NT-0001/documents", as("dr-sato"));
    EXPECT_EQ(r.status, 200) << r.body;
    const json j = json::parse(r.body, nullptr, false);
    return j.is_object() ? j : json::object();
  };

  // A list with items that are not documents, a forged facility and fields
  // of its own: only the documents, with the known fields, are passed on.
  set(200, R"({"documents":[1,"x",null,[],{"type":"summary"},{"id":"../x"},)"
           R"({"id":"b-1","type":"summary","title":7,"size":"big","facility":"9999999999","cached":true,)"
           R"("extra":{"deep":[1,2]}}],"emergency":"yes"})");
  json j = list();
  ASSERT_EQ(j["documents"].size(), 1U) << j.dump();
  EXPECT_EQ(j["documents"][0], (json{{"id", "b-1"}, {"type", "summary"}, {"facility", kB}})) << j.dump();
  EXPECT_EQ(facility_entry(j, kB)["status"], "answered") << j.dump();
  // Refusals whose error is not an object, or whose code is not a string.
  for (const auto& [status, body] : std::vector<std::pair<int, std::string>>{
           {403, R"({"error":5})"}, {503, R"({"error":{"code":7,"message":[]}})"}, {403, "[]"}, {404, "not json"}}) {
    set(status, body);
    j = list();
    const json f = facility_entry(j, kB);
    EXPECT_EQ(f["status"], "refused") << body << " " << j.dump();  // a 503 is busy only with a busy code
    EXPECT_TRUE(f["error"]["code"].is_string()) << f.dump();
    EXPECT_TRUE(f["error"]["message"].is_string()) << f.dump();
  }

  const auto fetch_b1 = [&] {
    return a->call("GET", std::string("/v1/facilities/") + kB + "/documents/b-1", as("dr-sato"));
  };
  // A fetch refused with an error that is not an object; statuses that are
  // not refusals at all.
  for (const auto& [status, want] : std::vector<std::pair<int, int>>{{403, 403}, {101, 502}, {299, 502}, {999, 502}}) {
    set(status, R"({"error":5})");
    const auto r = fetch_b1();
    EXPECT_EQ(r.status, want) << status << " " << r.body;
    const json e = json::parse(r.body, nullptr, false)["error"];
    EXPECT_TRUE(e.is_object() && e["code"].is_string()) << r.body;
    EXPECT_EQ(e["facility"], kB) << r.body;
  }
  // A document whose metadata carries wrong types and claims of its own.
  set(200, "hello", "application/octet-stream",
      R"({"type":5,"content_type":"text/plain","title":"t","cached":true,"facility":"1","decision_verified":true})");
  const auto r = fetch_b1();
  ASSERT_EQ(r.status, 200) << r.body;
  const json meta = json::parse(r.body);
  EXPECT_EQ(meta["content_base64"], crypto::to_base64(crypto::as_bytes(std::string("hello"))));
  EXPECT_FALSE(meta.contains("type")) << r.body;
  EXPECT_EQ(meta["cached"], false) << r.body;
  EXPECT_EQ(meta["facility"], kB) << r.body;
  EXPECT_FALSE(meta.contains("decision_verified")) << r.body;
  EXPECT_EQ(a->get("/v1/health").status, 200);
}

}  // namespace
}  // namespace hiegate::test
