// PUT /v1/documents/{id} with a raw body (Content-Type
// application/octet-stream): the document's bytes as they are, its metadata
// in X-HIE-Document. The body is stored as it arrives, a window at a time
// (Store::begin_publish), so a large image costs one window of memory and no
// base64. Nothing is published unless every check passed and every byte
// arrived: the upload is dropped, and its staged chunks with it, otherwise.
#include <charconv>
#include <nlohmann/json.hpp>

#include "clinical_common.hpp"
#include "clinical_routes.hpp"
#include "hiegate/daemon/mode_api.hpp"
#include "hiegate/daemon/store.hpp"
#include "hiegate/policy/content.hpp"

namespace hiegate::daemon {

using nlohmann::json;

namespace {

HttpResponse content_refusal(const policy::Decision& d) { return refusal(d, http::status::unsupported_media_type); }

/// The Content-Length the client sent (the parser has checked it), if any.
std::optional<std::uint64_t> content_length(const HttpRequest& msg) {
  const std::string_view v = msg[http::field::content_length];
  std::uint64_t n = 0;
  if (v.empty() || std::from_chars(v.data(), v.data() + v.size(), n).ec != std::errc()) return std::nullopt;
  return n;
}

struct RawPublish : std::enable_shared_from_this<RawPublish> {
  RawPublish(Gateway& g, std::shared_ptr<Responder> r) : gw(g), rp(std::move(r)) {}

  Gateway& gw;
  std::shared_ptr<Responder> rp;
  std::shared_ptr<BodyReader> body;
  std::shared_ptr<ContentUpload> upload;
  std::string id;
  json meta;
  std::string type;
  bool whole = false;         // a text type: the whole content is checked at the end
  std::uint64_t max_whole = 0;  // the most bytes such a content may have
  std::string kept;           // the whole content (text) or its head (binary) until checked
  bool head_checked = false;

  void next() {
    body->read([self = shared_from_this()](Result<std::string> piece) { self->on_piece(std::move(piece)); });
  }

  void on_piece(Result<std::string> piece) {
    if (!piece) return rp->send(body_read_error(piece.error()));
    if (piece->empty()) return finish();
    if (whole) {
      if (kept.size() + piece->size() > max_whole) {
        return rp->send(error_response(http::status::payload_too_large, "payload_too_large",
                                       "a text document may have at most [local_api] max_body_bytes bytes"));
      }
      kept += *piece;
    } else if (!head_checked) {
      kept.append(*piece, 0, std::min(piece->size(), policy::kContentHeadBytes - kept.size()));
      if (kept.size() == policy::kContentHeadBytes) {
        // Refused on its first bytes, before anything of it is stored.
        if (const auto d = policy::check_content_head(type, kept); !d) return rp->send(content_refusal(d));
        head_checked = true;
        kept.clear();
      }
    }
    upload->write(std::move(*piece), [self = shared_from_this()](Result<void> st) {
      if (!st) return self->rp->send(store_error(st.error()));
      self->next();
    });
  }

  void finish() {
    // A short binary content is whole in its head: the head's check is the
    // check of the whole.
    if (whole || !head_checked) {
      if (const auto d = policy::check_content(type, kept); !d) return rp->send(content_refusal(d));
    }
    // An order may have stopped publishing while the body arrived.
    if (auto m = refuse_by_mode(gw.mode(), policy::Function::publish)) return rp->send(std::move(*m));
    DocumentRecord rec;
    rec.patient_id = meta["patient"];
    rec.document_id = id;
    rec.metadata_json = meta.dump();
    rec.published_at = gw.clock().time_since_epoch().count();
    upload->commit(std::move(rec), [self = shared_from_this()](Result<void> st) {
      if (!st) return self->rp->send(store_error(st.error()));
      self->meta["id"] = self->id;
      self->meta["size"] = self->upload->size();
      self->rp->send(json_response(http::status::ok, self->meta));
    });
  }
};

}  // namespace

void publish_raw(Gateway& gw, ApiRequest& req, Responder r, std::string id) {
  const auto header = read_document_header(req.msg[kDocumentHeader]);
  if (!header) {
    return r.send(bad_request("invalid_request",
                              "a raw document needs its metadata in X-HIE-Document: base64 of a JSON object"));
  }
  auto meta = document_metadata(*header);
  if (!meta) return r.send(bad_request(meta.error().code, meta.error().message));
  const auto cfg = gw.config();
  auto job = std::make_shared<RawPublish>(gw, std::make_shared<Responder>(std::move(r)));
  job->body = req.body;
  job->id = std::move(id);
  job->type = (*meta)["content_type"].get<std::string>();
  job->meta = std::move(*meta);
  job->whole = policy::content_checked_whole(job->type);
  // A type off the allow-list is refused before the body is read.
  if (const auto d = policy::check_content_type(job->type); !d) return job->rp->send(content_refusal(d));
  if (job->whole) {
    job->max_whole = cfg->local_api.max_body_bytes;
    const auto len = content_length(req.msg);
    if (len && *len > job->max_whole) {
      return job->rp->send(error_response(http::status::payload_too_large, "payload_too_large",
                                          "a text document may have at most [local_api] max_body_bytes bytes"));
    }
    // Held whole for its check: counted in the memory budget until answered.
    if (!hold_memory(gw, *req.keep, len.value_or(job->max_whole))) return job->rp->send(memory_full_response());
  }
  // Registered while the body arrives: an order stopping publishing cuts it.
  req.function = policy::Function::publish;
  require_user(gw, req, {}, "publishing is", [job](std::optional<HttpResponse> refused, const std::string&) {
    if (refused) return job->rp->send(std::move(*refused));
    job->upload = job->gw.store.begin_publish(job->id);
    job->next();
  });
}

}  // namespace hiegate::daemon
