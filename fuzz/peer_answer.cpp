// Fuzz target: what this gateway takes from another facility's answers
// (daemon/src/peer_answers.hpp) — the list of a patient's documents, a
// document with its metadata (raw with X-HIE-Document, or JSON with
// content_base64), and refusals. A peer may be broken or taken over.
//
// Input: byte 0 picks the status (200, 403, 404, 429, 503, or a non-error
// one), byte 1 the content type (raw or JSON); then the X-HIE-Document
// value up to the first newline, then the body.
// Contract checked: no crash, sanitizer report or exception; every list
// document is an object with a string id; an error is an object with a
// string code and message; a document's metadata is an object; a refusal
// status is 400..599.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "peer_answers.hpp"

namespace {
void check(bool ok) {
  if (!ok) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  static constexpr int kStatuses[] = {200, 403, 404, 429, 503, 101, 299, 999};
  hiegate::transport::PeerResponse res;
  res.status = kStatuses[data[0] % (sizeof kStatuses / sizeof kStatuses[0])];
  res.content_type = data[1] % 2 == 0 ? "application/octet-stream" : "application/json";
  std::string_view rest(reinterpret_cast<const char*>(data + 2), size - 2);
  const auto nl = rest.find('\n');
  if (nl != std::string_view::npos) {
    res.headers.emplace_back("X-HIE-Document", std::string(rest.substr(0, nl)));
    rest.remove_prefix(nl + 1);
  }
  res.body = std::string(rest);

  const auto list = hiegate::daemon::read_peer_list(res);
  for (const auto& d : list.documents) check(d.is_object() && d.contains("id") && d["id"].is_string());
  if (list.status != "answered") {
    check(list.error.is_object() && list.error["code"].is_string() && list.error["message"].is_string());
  }
  const auto e = hiegate::daemon::peer_error_json(res);
  check(e.is_object() && e["code"].is_string() && e["message"].is_string());
  (void)hiegate::daemon::peer_busy(res);
  const unsigned st = hiegate::daemon::peer_refusal_status(res.status);
  check(st >= 400 && st <= 599);
  auto copy = res;
  if (auto doc = hiegate::daemon::read_peer_document(copy)) {
    check(doc->first.is_object());
    (void)doc->first.dump(-1, ' ', false, nlohmann::json::error_handler_t::strict);  // valid UTF-8 throughout
  }
  return 0;
}
