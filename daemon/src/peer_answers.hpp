// What this gateway takes from another facility's answers. A peer gateway
// may be broken or taken over: nothing it sends may crash this one, reach
// the EHR beyond the fields this gateway knows, or pass a refusal off as
// something else. Private to the daemon; fuzzed (fuzz/peer_answer.cpp).
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <utility>

#include "hiegate/common/result.hpp"
#include "hiegate/transport/peer_http.hpp"

namespace hiegate::daemon {

/// A document's metadata as a peer gives it, kept to the known fields of
/// their types and bounds: id (a document id), patient (a patient id), type,
/// title, created, content_type, rule, size (an unsigned number), emergency
/// (a boolean). Everything else is dropped.
[[nodiscard]] nlohmann::json peer_document_meta(const nlohmann::json& in);

/// A peer's answer to a list, as this gateway reports that facility.
struct PeerList {
  std::string status;  ///< "answered", "refused" or "unavailable" (busy)
  nlohmann::json documents = nlohmann::json::array();  ///< peer_document_meta of each, with a valid id
  bool emergency = false;
  nlohmann::json error;  ///< peer_error_json when not answered
};
[[nodiscard]] PeerList read_peer_list(const transport::PeerResponse& res);

/// A peer's 200 answer to a document fetch: its metadata (peer_document_meta)
/// and content, raw (metadata in X-HIE-Document) or JSON with content_base64.
[[nodiscard]] Result<std::pair<nlohmann::json, std::string>> read_peer_document(transport::PeerResponse& res);

/// The peer was too busy to decide (its fair-share limits, [peer_api]): not a
/// refusal, the same as no answer.
[[nodiscard]] bool peer_busy(const transport::PeerResponse& res);

/// A peer's refusal as {"code": snake_case, "message": text, and "rule",
/// "order", "reason" and "localized" {"ja","en"} when it gave them as
/// strings}; "peer_error" and "HTTP n" when it gave nothing usable.
[[nodiscard]] nlohmann::json peer_error_json(const transport::PeerResponse& res);

/// The status this gateway answers a peer's refusal with: the peer's own when
/// it is an error status (400-599), else 502.
[[nodiscard]] unsigned peer_refusal_status(int status);

}  // namespace hiegate::daemon
