// Shared pieces of the clinical flows (local and peer APIs): the headers a
// clinical request carries, user and consent records as stored, document
// metadata, and the users' registry lookup.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "hiegate/common/result.hpp"
#include "hiegate/common/utf8.hpp"
#include "hiegate/daemon/audit.hpp"
#include "hiegate/daemon/gateway.hpp"
#include "hiegate/daemon/http.hpp"
#include "hiegate/transport/peer_http.hpp"
#include "hiegate/policy/sharing.hpp"

namespace hiegate::daemon {

/// Header names of the clinical requests (local and peer).
inline constexpr const char* kUserHeader = "X-HIE-User";
inline constexpr const char* kRoleHeader = "X-HIE-Role";
inline constexpr const char* kPurposeHeader = "X-HIE-Purpose";
inline constexpr const char* kReasonHeader = "X-HIE-Emergency-Reason";
/// The patient a document fetch is for (required with purpose emergency).
inline constexpr const char* kPatientHeader = "X-HIE-Patient";

/// The function a clinical request across the network exercises: `emergency`
/// when its purpose says so, `view` otherwise.
[[nodiscard]] policy::Function network_function(const ApiRequest& req);
/// The function a peer API request exercises (`serve` for disclosures);
/// nullopt for routes no order stops (directives, health).
[[nodiscard]] std::optional<policy::Function> peer_function(std::string_view path);

/// A stored user record <-> JSON {"role","department","active"}.
[[nodiscard]] nlohmann::json user_to_json(const policy::UserRecord& u);
[[nodiscard]] Result<policy::UserRecord> user_from_json(const std::string& id, const nlohmann::json& j);

/// A stored consent <-> JSON {"signed_on","scope","form_ref","registered_by","withdrawn_at"?}.
struct ConsentRecord {
  policy::Consent consent;
  std::string form_ref;
  std::string registered_by;
  std::string registered_at;
};
[[nodiscard]] nlohmann::json consent_to_json(const ConsentRecord& c);
[[nodiscard]] Result<ConsentRecord> consent_from_json(const nlohmann::json& j);

/// Document metadata as published: {"patient","type","title","created","content_type"}.
[[nodiscard]] Result<nlohmann::json> document_metadata(const nlohmann::json& body);

/// Looks up a registered user; nullopt if unknown. `done` runs on a store thread.
void find_user(Gateway& gw, const std::string& id,
               std::function<void(Result<std::optional<policy::UserRecord>>)> done);
/// The refusal of an administrative request by `actor` (this facility's
/// user id, `user` its record or null when unknown): unknown, inactive or
/// suspended (also by an order), or not an `admin` (`role_not_allowed`, the
/// message "<what> for users with the admin role", `what` such as "audit
/// reports are"). nullopt: allowed.
[[nodiscard]] std::optional<HttpResponse> admin_refusal(Gateway& gw, const std::string& actor,
                                                        const policy::UserRecord* user, std::string_view what);
/// The same with any of `roles` allowed (empty: any role).
[[nodiscard]] std::optional<HttpResponse> role_refusal(Gateway& gw, const std::string& actor,
                                                       const policy::UserRecord* user, policy::RoleSet roles,
                                                       std::string_view what);
/// The refusal for the user X-HIE-User names, with any of `roles` allowed
/// (empty: any registered, active, unsuspended user); as require_admin.
void require_user(Gateway& gw, const ApiRequest& req, policy::RoleSet roles, std::string what,
                  std::function<void(std::optional<HttpResponse>, std::string role)> then);
/// The same for the user X-HIE-User names (400 invalid_user when malformed,
/// a store error when the lookup fails). `then` runs on a store thread, or
/// at once, with the refusal (nullopt: allowed) and the user's role when known.
void require_admin(Gateway& gw, const ApiRequest& req, std::string what,
                   std::function<void(std::optional<HttpResponse>, std::string role)> then);
/// Looks up a patient's consent; nullopt if none registered.
void find_consent(Gateway& gw, const std::string& patient,
                  std::function<void(Result<std::optional<ConsentRecord>>)> done);

/// The request body as JSON; nullopt when it does not parse.
[[nodiscard]] std::optional<nlohmann::json> parse_body(const ApiRequest& req);
/// 400 with a stable code.
[[nodiscard]] HttpResponse bad_request(const std::string& code, const std::string& message);
/// The answer for a failed store operation (404 not_found, 507 store_full, 503 otherwise).
[[nodiscard]] HttpResponse store_error(const Error& e);

/// Sends `res` once `record` is durable; 503 `audit_unavailable` instead if
/// the trail cannot be written (no access is answered unaudited). `body`:
/// the body stream of a document written piece by piece, if any.
void send_audited(Gateway& gw, std::shared_ptr<Responder> rp, AuditRecord record, HttpResponse res,
                  std::shared_ptr<transport::BodyStream> body = nullptr);
/// The same for the peer API.
void reply_audited(Gateway& gw, std::shared_ptr<transport::PeerReply> reply, AuditRecord record,
                   transport::PeerResponse res);

/// Wraps a route so that every answer waits for an audit record of the
/// request: the acting user (X-HIE-User), the patient named in a JSON body,
/// the outcome and, for a refusal, its code.
/// A `patient` path parameter names the patient; an `id` one is recorded as
/// the document id unless `fill` (run last, on the request) says otherwise.
/// `answered` adds what only the answer knows (e.g. a created ticket's id
/// from its Location), before the record is written.
[[nodiscard]] Handler audited_route(Gateway& gw, std::string event, AuditAction action, Handler inner,
                                    std::function<void(const ApiRequest&, AuditRecord&)> fill = {},
                                    std::function<void(const HttpResponse&, AuditRecord&)> answered = {});

/// Percent-decodes an emergency reason sent in a header (UTF-8 allowed;
/// invalid sequences become U+FFFD).
[[nodiscard]] std::string decode_reason(std::string_view header_value);
/// Percent-encodes a reason for a header.
[[nodiscard]] std::string encode_reason(std::string_view reason);

/// A document's content read whole, with its place in the gateway's memory
/// budget: keep `hold` until the answer carrying the bytes is written.
struct HeldContent {
  std::string bytes;
  std::shared_ptr<const void> hold;
};

/// What an answer with `size` content bytes holds in memory: the bytes, and
/// their base64 too unless the answer is raw.
[[nodiscard]] std::uint64_t answer_bytes(std::uint64_t size, bool raw);

/// Counts `bytes` of an answer in gw.memory until `keep` is released (the
/// answer written); false when they do not fit now: the caller answers
/// memory_full_response() and does nothing else. No budget: always true.
[[nodiscard]] bool hold_memory(Gateway& gw, Keep& keep, std::uint64_t bytes);

/// A document's whole content as one string (documents are bounded by the
/// local API's body limit); `done` runs on a store thread. `size`: the
/// content's size from its record, reserved at once (0: grown as read).
/// `held`: the bytes to count in gw.memory (answer_bytes) before anything
/// is read; when they do not fit, `done` gets `overloaded` and nothing is
/// read.
void read_all_content(Gateway& gw, const std::string& id, std::uint64_t size, std::uint64_t held,
                      std::function<void(Result<HeldContent>)> done);

/// A document's content for a raw answer. One that fits in a window
/// (kStreamWindow) is read whole into `bytes`; a larger one comes as
/// `stream`, which reads it from the store a window at a time while the
/// answer is written (its first window already read and authenticated, so
/// that a missing or damaged document is still answered with an error).
/// `hold`: the window's place in gw.memory; keep it until the answer is
/// written.
/// `inner` (a document's content as it arrives) with its first bytes
/// checked by policy::check_content_head for `content_type` before any of
/// them is passed on: content that fails ends the stream with that error.
[[nodiscard]] std::shared_ptr<transport::BodyStream> head_checked(std::shared_ptr<transport::BodyStream> inner,
                                                                  std::string content_type);

struct RawContent {
  std::string bytes;
  std::shared_ptr<transport::BodyStream> stream;
  std::shared_ptr<const void> hold;
};
inline constexpr std::size_t kStreamWindow = 256 * 1024;
/// As read_all_content, for a raw answer: memory O(kStreamWindow) whatever
/// the size. `size`: the content's size from its record (the stream's
/// Content-Length; a content of another length cuts the answer short).
void read_raw_content(Gateway& gw, const std::string& id, std::uint64_t size,
                      std::function<void(Result<RawContent>)> done);

/// Documents as raw bytes instead of base64 inside JSON (local and peer
/// API): a request whose Accept names application/octet-stream gets the
/// content as the body and the metadata JSON, base64-encoded, in
/// X-HIE-Document. Refusals stay JSON whatever the Accept.
inline constexpr const char* kDocumentHeader = "X-HIE-Document";
inline constexpr std::string_view kRawContentType = "application/octet-stream";
[[nodiscard]] bool wants_raw(std::string_view accept);
/// The X-HIE-Document value of `meta` (inverse of read_document_header).
[[nodiscard]] std::string document_header(const nlohmann::json& meta);
/// 200 with `content` as the body and `meta` in X-HIE-Document.
[[nodiscard]] HttpResponse raw_document_response(const nlohmann::json& meta, std::string content);
/// `meta` with "content_base64" added, as a JSON answer.
[[nodiscard]] HttpResponse json_document_response(nlohmann::json meta, std::string_view content);
/// The metadata of X-HIE-Document; nullopt when absent or not base64 JSON.
[[nodiscard]] std::optional<nlohmann::json> read_document_header(std::string_view value);
/// The local answer for a document: raw (see wants_raw) or JSON.
[[nodiscard]] HttpResponse document_response(bool raw, nlohmann::json meta, std::string content);

}  // namespace hiegate::daemon
