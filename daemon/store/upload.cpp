// A published document's content written a window at a time
// (Store::begin_publish): chunks staged under their own owner, moved under
// the document when it commits.
#include <atomic>

#include "hiegate/crypto/primitives.hpp"
#include "store/store_impl.hpp"

namespace hiegate::daemon {
namespace {

class DocumentUpload final : public ContentUpload {
public:
  DocumentUpload(Store::Impl& s, std::string document_id) : s_(s), st_(std::make_shared<State>()) {
    st_->document_id = std::move(document_id);
    crypto::random_bytes(st_->upload_id);
  }
  DocumentUpload(const DocumentUpload&) = delete;
  DocumentUpload& operator=(const DocumentUpload&) = delete;

  // Removes what was staged, unless it was committed.
  ~DocumentUpload() override {
    if (!posted_ || st_->committed) return;
    s_.write<void>(false, [](Status) {}, [st = st_](sqlite::Db& db) -> Status {
      if (st->committed) return {};
      return store::delete_content(db, store::kStagedOwner, st->upload_id);
    });
  }

  void write(std::string bytes, Callback<void> done) override {
    posted_ = true;
    size_ += bytes.size();
    s_.write<void>(false, spoiling(std::move(done)), [&s = s_, st = st_, bytes = std::move(bytes)](sqlite::Db& db) {
      return stage(s, *st, db, bytes);
    });
  }

  void commit(DocumentRecord doc, Callback<void> done) override {
    posted_ = true;
    // Committed once its transaction is: only then are the chunks no longer staged.
    Callback<void> committed = [st = st_, done = std::move(done)](Result<void> r) {
      if (r) st->committed = true;
      done(std::move(r));
    };
    s_.write<void>(false, spoiling(std::move(committed)), [&s = s_, st = st_, doc = std::move(doc)](sqlite::Db& db) {
      return finish(s, *st, db, doc);
    });
  }

  [[nodiscard]] std::uint64_t size() const override { return size_; }

private:
  // Writer thread only, one job at a time.
  struct State {
    std::string document_id;
    IdHash upload_id{};                        // the staged chunks' id_hash
    std::uint32_t version = 0;                 // of the seal, taken at the first write
    IdHash id{};                               // the document's id hash under `version`: the chunks' binding
    std::optional<crypto::StreamSealer> sealer;
    Bytes pending;                             // plaintext not sealed yet: the final chunk must be marked
    std::int64_t seq = 0;                      // the next chunk
    std::uint64_t size = 0;
    std::optional<Error> spoiled;              // a write or commit failed: the sealer ran ahead of the rows
    std::atomic<bool> committed{false};        // set by the commit's callback (on the writer thread)
  };

  // A failed job (or its transaction) leaves the sealer ahead of the stored
  // chunks: nothing more may be added to this upload.
  Callback<void> spoiling(Callback<void> done) {
    return [st = st_, done = std::move(done)](Result<void> r) {
      if (!r && !st->spoiled) st->spoiled = r.error();
      done(std::move(r));
    };
  }

  static Status seal_chunk(sqlite::Db& db, State& st, ByteView plain, bool last) {
    return store::insert_chunk(db, store::kStagedOwner, st.upload_id, st.seq++, st.sealer->push(plain, last));
  }

  static Status stage(Store::Impl& s, State& st, sqlite::Db& db, const std::string& bytes) {
    if (st.spoiled) return *st.spoiled;
    if (st.committed) return make_error("invalid_argument", "the upload was already committed");
    if (!st.sealer) {
      st.version = s.write_version();
      st.id = s.hash(st.version, "document", st.document_id);
      st.sealer.emplace(*s.ring(), st.version, crypto::Binding{"documents.content", st.id});
    }
    st.pending.insert(st.pending.end(), bytes.begin(), bytes.end());
    st.size += bytes.size();
    // Only chunks known not to be the last are sealed here.
    std::size_t at = 0;
    for (; st.pending.size() - at > crypto::kStreamChunk; at += crypto::kStreamChunk) {
      if (auto r = seal_chunk(db, st, ByteView(st.pending).subspan(at, crypto::kStreamChunk), false); !r) return r;
    }
    st.pending.erase(st.pending.begin(), st.pending.begin() + static_cast<std::ptrdiff_t>(at));
    return {};
  }

  static Status finish(Store::Impl& s, State& st, sqlite::Db& db, const DocumentRecord& doc) {
    if (st.spoiled) return *st.spoiled;
    if (st.committed) return make_error("invalid_argument", "the upload was already committed");
    if (doc.document_id != st.document_id || doc.patient_id.empty()) {
      return make_error("invalid_argument", "a document needs a patient id and the upload's document id");
    }
    if (st.size == 0 || !st.sealer) return make_error("invalid_argument", "the document is empty");
    if (auto r = seal_chunk(db, st, st.pending, true); !r) return r;
    if (auto d = store::delete_document(s, db, doc.document_id); !d) return std::move(d).error();
    auto mv = db.cached("UPDATE chunks SET owner='documents', id_hash=? WHERE owner=? AND id_hash=?");
    if (!mv) return std::move(mv).error();
    if (auto r = (*mv)->bind(1, ByteView(st.id)).bind(2, store::kStagedOwner).bind(3, ByteView(st.upload_id)).run();
        !r) {
      return r;
    }
    // Every staged chunk moved (another process opening the store would
    // have removed them as left by a crash).
    if (db.changes() != st.seq) return make_error("store_io", "the upload's staged content is incomplete");
    Bytes header = st.sealer->header();
    std::uint32_t v = st.version;
    IdHash id = st.id;
    if (const auto now = s.write_version(); now != v) {
      // The keys rotated during the upload: seal it under the active
      // version, as a rekey would, so that it is not left behind.
      const IdHash to = s.hash(now, "document", doc.document_id);
      auto h = store::rekey_content(db, *s.ring(), "documents", id, header, now, to);
      if (!h) return std::move(h).error();
      header = std::move(*h);
      v = now;
      id = to;
    }
    return store::insert_document(s, db, v, id, doc, header, st.size);
  }

  Store::Impl& s_;
  std::shared_ptr<State> st_;
  bool posted_ = false;      // the caller's thread
  std::uint64_t size_ = 0;   // the caller's thread
};

}  // namespace

std::shared_ptr<ContentUpload> Store::begin_publish(std::string document_id) {
  return std::make_shared<DocumentUpload>(*impl_, std::move(document_id));
}

}  // namespace hiegate::daemon
