// PUT /v1/documents/{id} with a raw body (application/octet-stream, the
// metadata in X-HIE-Document) on a real hiegated: the body is stored as it
// arrives, whatever its size against the memory budget and max_body_bytes;
// every refusal, and a client that goes away midway, publish nothing and
// leave the earlier version in place.
#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "hiegate/crypto/encoding.hpp"
#include "integration/gateway.hpp"

namespace hiegate::test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

std::string meta_header(const std::string& patient, const std::string& content_type) {
  const json m = {{"patient", patient},
                  {"type", "image"},
                  {"title", "胸部CT"},
                  {"created", "2026-11-20T10:00:00Z"},
                  {"content_type", content_type}};
  return crypto::to_base64(crypto::as_bytes(m.dump()));
}

/// A DICOM Part 10 file of `size` bytes: preamble, "DICM", then noise.
std::string dicom(std::size_t size, unsigned seed) {
  std::string s(size, '\0');
  std::mt19937 rng(seed);
  for (std::size_t i = 132; i < size; ++i) s[i] = static_cast<char>(rng());
  s.replace(128, 4, "DICM");
  return s;
}

/// The head of a raw PUT of `id` by clerk-1 (no blank line yet).
std::string put_head(const std::string& id, const std::string& patient, const std::string& content_type,
                     const std::string& framing) {
  return "PUT /v1/documents/" + id + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + std::string(kToken) +
         "\r\nX-HIE-User: clerk-1\r\nContent-Type: application/octet-stream\r\nX-HIE-Document: " +
         meta_header(patient, content_type) + "\r\n" + framing;
}

HttpResult raw_put(const Gateway& gw, const std::string& id, const std::string& content_type,
                   const std::string& content, std::map<std::string, std::string> headers = {}) {
  headers.try_emplace("X-HIE-User", "clerk-1");
  headers.try_emplace("X-HIE-Document", meta_header("NT-0300", content_type));
  headers["Content-Type"] = "application/octet-stream";
  return gw.call("PUT", "/v1/documents/" + id, headers, content);
}

HttpResult raw_get(const Gateway& gw, const std::string& id) {
  return gw.call("GET", "/v1/documents/" + id, {{"X-HIE-User", "clerk-1"}, {"Accept", "application/octet-stream"}});
}

std::string code_of(const HttpResult& r) {
  const auto j = json::parse(r.body, nullptr, false);
  return j.is_object() && j.contains("error") ? j["error"].value("code", "") : "";
}

/// One whole response read from `c`: its head and Content-Length bytes.
std::string read_response(RawConn& c) {
  std::string got;
  for (int i = 0; i < 500; ++i) {
    const auto head = got.find("\r\n\r\n");
    if (head != std::string::npos) {
      const auto at = got.find("Content-Length: ");
      const auto len = at == std::string::npos ? 0 : std::stoul(got.substr(at + 16));
      if (got.size() >= head + 4 + len) return got;
    }
    const auto piece = c.read_some(2s);
    if (piece.empty()) break;
    got += piece;
  }
  return got;
}

std::string held(const Gateway& gw) {
  const auto m = gw.get("/metrics").body;
  const std::string key = "\nhiegate_document_memory_bytes ";
  const auto at = m.find(key);
  return at == std::string::npos ? "?" : m.substr(at + key.size(), m.find('\n', at + key.size()) - at - key.size());
}

/// A gateway that holds at most 1 MiB of documents and takes JSON bodies of
/// 1 MiB, and raw documents of `max_document` bytes.
std::unique_ptr<Gateway> small_gateway(std::uint64_t max_document) {
  auto gw = std::make_unique<Gateway>();
  std::string text = gw->config_text("max_body_bytes = 1048576\nmax_document_bytes = " +
                                     std::to_string(max_document) + "\n");
  text.replace(text.find("[daemon]\n"), 9, "[daemon]\ndocument_memory_bytes = 1048576\n");
  gw->write_config(text);
  gw->start();
  EXPECT_EQ(gw->put_user("clerk-1", R"({"role":"clerk","department":"医事課"})").status, 200);
  return gw;
}

TEST(RawUpload, ALargeDocumentIsStoredAsItArrives) {
  auto gw = small_gateway(16 * 1024 * 1024);
  // Six times the memory budget and the largest JSON body.
  const std::string image = dicom(6 * 1024 * 1024, 1);
  RawConn c(gw->tcp());
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(c.send(put_head("ct-1", "NT-0300", "application/dicom",
                              "Content-Length: " + std::to_string(image.size()) + "\r\n\r\n") +
                     image.substr(0, image.size() / 2)));
  // Half of it has come: nothing is held for it, nothing is published yet.
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(held(*gw), "0");
  EXPECT_EQ(raw_get(*gw, "ct-1").status, 404);
  ASSERT_TRUE(c.send(image.substr(image.size() / 2)));
  const auto answer = read_response(c);
  ASSERT_EQ(status_of(answer), 200) << answer.substr(0, 400);
  const auto meta = json::parse(answer.substr(answer.find("\r\n\r\n") + 4));
  EXPECT_EQ(meta["size"], image.size());
  EXPECT_EQ(meta["id"], "ct-1");
  EXPECT_EQ(meta["content_type"], "application/dicom");

  // The connection stays open for the next request.
  ASSERT_TRUE(c.send("GET /v1/status HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + std::string(kToken) +
                     "\r\n\r\n"));
  EXPECT_EQ(status_of(read_response(c)), 200);

  const auto back = raw_get(*gw, "ct-1");
  ASSERT_EQ(back.status, 200) << back.body.substr(0, 300);
  EXPECT_TRUE(back.body == image) << back.body.size();

  // Chunked, as a client that does not know the size sends it; and a
  // client that waits for "100 Continue" gets it once the checks passed.
  const std::string pdf = "%PDF-1.7\n" + std::string(300'000, 'p');
  RawConn chunked(gw->tcp());
  std::string frames = put_head("pdf-1", "NT-0300", "application/pdf", "Transfer-Encoding: chunked\r\n\r\n");
  for (std::size_t at = 0; at < pdf.size(); at += 100'000) {
    const auto part = pdf.substr(at, 100'000);
    char size[32];
    std::snprintf(size, sizeof size, "%zx\r\n", part.size());
    frames += size + part + "\r\n";
  }
  ASSERT_TRUE(chunked.send(frames + "0\r\n\r\n"));
  EXPECT_EQ(status_of(read_response(chunked)), 200);
  EXPECT_TRUE(raw_get(*gw, "pdf-1").body == pdf);

  RawConn polite(gw->tcp());
  const std::string png = "\x89PNG\r\n\x1a\n" + std::string(5000, 'i');
  ASSERT_TRUE(polite.send(put_head("png-1", "NT-0300", "image/png",
                                   "Expect: 100-continue\r\nContent-Length: " + std::to_string(png.size()) +
                                       "\r\n\r\n")));
  EXPECT_EQ(polite.read_some(2s).rfind("HTTP/1.1 100 Continue\r\n", 0), 0U);
  ASSERT_TRUE(polite.send(png));
  EXPECT_EQ(status_of(read_response(polite)), 200);

  // A text document, held whole for its check, reads back as JSON too.
  const std::string fhir = R"({"resourceType":"Bundle","type":"document"})";
  ASSERT_EQ(raw_put(*gw, "fhir-1", "application/fhir+json", fhir).status, 200);
  const auto as_json = gw->call("GET", "/v1/documents/fhir-1", {{"X-HIE-User", "clerk-1"}});
  ASSERT_EQ(as_json.status, 200);
  EXPECT_EQ(json::parse(as_json.body)["content_base64"], crypto::to_base64(crypto::as_bytes(fhir)));

  // Each publication is audited with its patient, taken from X-HIE-Document.
  const auto report = gw->call("GET", "/v1/audit/report?patient=NT-0300", {{"X-HIE-User", kAdmin}});
  ASSERT_EQ(report.status, 200) << report.body;
  const auto records = json::parse(report.body)["records"];
  int published = 0;
  for (const auto& r : records) published += r["type"] == "document_publish" ? 1 : 0;
  EXPECT_EQ(published, 4);
  EXPECT_EQ(held(*gw), "0");
}

TEST(RawUpload, ARefusedUploadPublishesNothing) {
  auto gw = small_gateway(256 * 1024);
  const std::string v1 = "%PDF-1.7\nversion one";
  ASSERT_EQ(raw_put(*gw, "doc-1", "application/pdf", v1).status, 200);

  struct Case {
    std::string what, content_type, content;
    int status;
    std::string code;
  };
  const std::vector<Case> cases = {
      {"a PNG labelled PDF", "application/pdf", "\x89PNG\r\n\x1a\n" + std::string(2000, 'x'), 415,
       "content_mismatch"},
      {"an executable labelled DICOM", "application/dicom", "MZ" + std::string(2000, 'x'), 415,
       "content_forbidden"},
      {"a type off the allow-list", "application/zip", "PK" + std::string(100, 'z'), 415,
       "content_type_not_allowed"},
      {"an empty body", "application/pdf", "", 415, "content_empty"},
      {"FHIR whose head is right and whose end is not", "application/fhir+json",
       R"({"resourceType":"Bundle","entry":[)" + std::string(100'000, ' '), 415, "content_mismatch"},
      {"text that is not UTF-8 past its head", "text/plain", std::string(600, 'a') + "\xff", 415,
       "content_mismatch"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    const auto r = raw_put(*gw, "doc-1", c.content_type, c.content);
    EXPECT_EQ(r.status, c.status) << r.body;
    EXPECT_EQ(code_of(r), c.code) << r.body;
  }
  const auto no_meta = gw->call("PUT", "/v1/documents/doc-1",
                                {{"X-HIE-User", "clerk-1"}, {"Content-Type", "application/octet-stream"}}, v1);
  EXPECT_EQ(no_meta.status, 400);
  EXPECT_EQ(code_of(no_meta), "invalid_request");
  EXPECT_EQ(code_of(raw_put(*gw, "doc-1", "application/pdf", v1, {{"X-HIE-Document", "not base64!"}})),
            "invalid_request");
  EXPECT_EQ(code_of(raw_put(*gw, "doc-1", "application/pdf", v1, {{"X-HIE-User", "nobody"}})), "unknown_user");

  // Too large by its Content-Length: refused before the body is sent.
  for (const auto& [type, size] : std::vector<std::pair<std::string, std::size_t>>{
           {"application/pdf", 256 * 1024 + 1}, {"text/plain", 1024 * 1024 + 1}}) {
    RawConn big(gw->tcp());
    ASSERT_TRUE(big.send(put_head("doc-1", "NT-0300", type, "Content-Length: " + std::to_string(size) + "\r\n\r\n")));
    const auto r = read_response(big);
    EXPECT_EQ(status_of(r), 413) << type << ": " << r.substr(0, 300);
    EXPECT_NE(r.find("payload_too_large"), std::string::npos) << type;
  }
  // Larger than max_document_bytes as it arrives, in chunks.
  {
    RawConn chunks(gw->tcp());
    std::string frames = put_head("doc-1", "NT-0300", "application/pdf", "Transfer-Encoding: chunked\r\n\r\n");
    const std::string body = "%PDF-1.7\n" + std::string(5 * 0x10000, 'c');
    for (int i = 0; i < 5; ++i) frames += "10000\r\n" + body.substr(i * 0x10000, 0x10000) + "\r\n";
    chunks.send(frames);
    const auto r = read_response(chunks);
    EXPECT_EQ(status_of(r), 413) << r.substr(0, 300);
  }

  // A refusal decided by the headers comes before the body: a client that
  // waits for "100 Continue" gets the refusal instead.
  RawConn waits(gw->tcp());
  ASSERT_TRUE(waits.send(put_head("doc-1", "NT-0300", "application/zip",
                                  "Expect: 100-continue\r\nContent-Length: 5000\r\n\r\n")));
  const auto refused = read_response(waits);
  EXPECT_EQ(status_of(refused), 415) << refused.substr(0, 300);
  EXPECT_TRUE(waits.closed_by_peer(2s));

  // A client that goes away midway.
  {
    RawConn gone(gw->tcp());
    ASSERT_TRUE(gone.send(put_head("doc-1", "NT-0300", "application/pdf", "Content-Length: 100000\r\n\r\n") +
                          "%PDF-1.7\n" + std::string(50'000, 'h')));
    std::this_thread::sleep_for(100ms);
  }
  // Through all of it the earlier version stayed, and nothing is held.
  const auto back = raw_get(*gw, "doc-1");
  ASSERT_EQ(back.status, 200);
  EXPECT_EQ(back.body, v1);
  EXPECT_EQ(held(*gw), "0");
}

}  // namespace
}  // namespace hiegate::test
