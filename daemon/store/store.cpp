// Store: opening, documents, integrity reporting and quarantine.
#include <sys/stat.h>

#include "hiegate/crypto/primitives.hpp"
#include "store/store_impl.hpp"

namespace hiegate::daemon {

using store::pack;
using store::unpack;

const char* table_name(RecordTable t) {
  switch (t) {
    case RecordTable::consents: return "consents";
    case RecordTable::users: return "users";
    case RecordTable::exports: return "exports";
    case RecordTable::directives: return "directives";
    case RecordTable::audit: return "audit";
    case RecordTable::emergencies: return "emergencies";
  }
  return "invalid";
}

namespace {

Status open_pragmas(sqlite::Db& db, const StoreOptions& opt) {
  if (auto s = db.exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA secure_delete=ON;"); !s) return s;
  if (opt.max_page_count > 0) return db.exec("PRAGMA max_page_count=" + std::to_string(opt.max_page_count));
  return {};
}

Result<std::int64_t> count_rows_to_rekey(sqlite::Db& db, std::uint32_t target) {
  std::int64_t total = 0;
  for (const auto& t : store::kSealedTables) {
    auto n = db.scalar(std::string("SELECT count(*) FROM ") + t.name + " WHERE key_version<>" + std::to_string(target));
    if (!n) return std::move(n).error();
    total += *n;
  }
  return total;
}

// Records the ring's keys in a fresh store, or a pending rekey when the ring
// brings a newer active version. The caller owns the transaction.
Status record_versions(sqlite::Db& db, const crypto::KeyRing& keys, std::uint32_t current) {
  const std::uint32_t active = keys.active_version();
  if (auto s = store::meta_put(db, "kcv." + std::to_string(active), keys.check_value(active)); !s) return s;
  if (current == 0) return store::meta_put_int(db, "key_version", active);
  auto target = store::meta_int(db, "rekey_target", 0);
  if (!target) return std::move(target).error();
  if (*target != 0) return {};
  auto total = count_rows_to_rekey(db, active);
  if (!total) return std::move(total).error();
  for (const auto& t : store::kSealedTables) {
    if (auto s = store::meta_put_int(db, std::string("rekey_progress.") + t.name, 0); !s) return s;
  }
  if (auto s = store::meta_put_int(db, "rekey_total", *total); !s) return s;
  if (auto s = store::meta_put_int(db, "rekey_done", 0); !s) return s;
  return store::meta_put_int(db, "rekey_target", active);
}

// After verify_keys(): refuses a second new version while a rekey is
// unfinished, records a pending rekey when `keys` brings a newer one. The
// caller owns the transaction.
Status admit_keys(sqlite::Db& db, const crypto::KeyRing& keys, std::uint32_t current) {
  auto target = store::meta_int(db, "rekey_target", 0);
  if (!target) return std::move(target).error();
  if (*target != 0 && *target != keys.active_version()) {
    return make_error("rekey_in_progress", "a rekey to key version " + std::to_string(*target) +
                                               " is unfinished; finish it before adding key version " +
                                               std::to_string(keys.active_version()));
  }
  if (current == keys.active_version()) return {};
  return record_versions(db, keys, current);
}

// The recorded rekey state; `version` is the records' current key version.
Result<RekeyStatus> read_rekey(sqlite::Db& db, std::uint32_t version) {
  auto rt = store::meta_int(db, "rekey_target", 0);
  auto done = store::meta_int(db, "rekey_done", 0);
  auto total = store::meta_int(db, "rekey_total", 0);
  if (!rt || !done || !total) return make_error("store_io", "cannot read rekey progress");
  return RekeyStatus{*rt != 0, version, static_cast<std::uint32_t>(*rt != 0 ? *rt : version),
                     static_cast<std::uint64_t>(*done), static_cast<std::uint64_t>(*total)};
}

}  // namespace

Result<std::unique_ptr<Store>> Store::open(StoreOptions opt, std::shared_ptr<const crypto::KeyRing> keys) {
  if (!keys) return make_error("master_key_missing", "no key ring given to the store");
  std::error_code ec;
  std::filesystem::create_directories(opt.dir, ec);
  if (ec) return make_error("store_io", "cannot create " + opt.dir.string() + ": " + ec.message());
  ::chmod(opt.dir.c_str(), 0700);
  const auto file = opt.dir / kStoreFileName;
  auto db = sqlite::Db::open(file, false, true);
  if (!db) return std::move(db).error();
  // Checks first: a refused store is left exactly as it was.
  auto schema = store::schema_version(*db);
  if (!schema) return std::move(schema).error();
  if (*schema > kStoreSchemaVersion) return store::migrate(*db).error();
  auto current = store::verify_keys(*db, *keys);
  if (!current) return std::move(current).error();
  if (auto s = open_pragmas(*db, opt); !s) return std::move(s).error();
  {
    // Long migrations report that they are alive (see on_long_work).
    struct Progress {
      const StoreOptions& opt;
      std::chrono::steady_clock::time_point next;
    } progress{opt, std::chrono::steady_clock::now() + opt.long_work_interval};
    if (opt.on_long_work) {
      ::sqlite3_progress_handler(
          db->get(), 100,
          [](void* p) -> int {
            auto& pr = *static_cast<Progress*>(p);
            if (const auto now = std::chrono::steady_clock::now(); now >= pr.next) {
              pr.next = now + pr.opt.long_work_interval;
              pr.opt.on_long_work();
            }
            return 0;
          },
          &progress);
    }
    const Status migrated = store::migrate(*db);
    ::sqlite3_progress_handler(db->get(), 0, nullptr, nullptr);
    if (!migrated) return migrated.error();
  }
  if (auto s = sqlite::transaction(*db, [&] { return admit_keys(*db, *keys, *current); }); !s) {
    return std::move(s).error();
  }
  // Uploads cut short by a crash (Store::begin_publish) never became documents.
  if (auto s = db->exec("DELETE FROM chunks WHERE owner='" + std::string(store::kStagedOwner) + "'"); !s) {
    return std::move(s).error();
  }

  auto impl = std::make_unique<Impl>();
  impl->store_version = *current == 0 ? keys->active_version() : *current;
  auto rekey = read_rekey(*db, impl->store_version);
  if (!rekey) return std::move(rekey).error();
  impl->rekey = *rekey;
  std::vector<sqlite::Db> readers;
  for (unsigned i = 0; i < std::max(1u, opt.reader_threads); ++i) {
    auto r = sqlite::Db::open(file, true, false);
    if (!r) return std::move(r).error();
    readers.push_back(std::move(*r));
  }
  impl->opt = std::move(opt);
  impl->keys = std::move(keys);
  impl->writer = std::make_unique<store::Writer>(std::move(*db), impl->opt.max_batch);
  impl->readers = std::make_unique<store::ReaderPool>(std::move(readers));
  return std::unique_ptr<Store>(new Store(std::move(impl)));
}

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

void Store::adopt_keys(std::shared_ptr<const crypto::KeyRing> keys, Callback<RekeyStatus> started,
                       Callback<RekeyStatus> finished) {
  if (!keys) return started(make_error("master_key_missing", "no key ring given to the store"));
  auto status = std::make_shared<RekeyStatus>();
  Impl* s = impl_.get();
  s->writer->post(store::WriteJob{
      true,
      [keys, status](sqlite::Db& db) -> Status {
        auto current = store::verify_keys(db, *keys);
        if (!current) return std::move(current).error();
        if (auto a = admit_keys(db, *keys, *current); !a) return a;
        auto r = read_rekey(db, *current);
        if (!r) return std::move(r).error();
        *status = *r;
        return {};
      },
      [s, keys, status, started = std::move(started), finished = std::move(finished)](Status st) {
        if (!st) return started(std::move(st).error());
        bool run = false;
        {
          std::lock_guard lock(s->mu);
          s->keys = keys;
          s->rekey = *status;
          run = status->running && !s->rekey_background;
          if (run) s->rekey_background = true;
        }
        started(*status);
        if (run) s->schedule_rekey(finished);
      }});
}

Store::~Store() {
  impl_->readers.reset();  // reader jobs may still queue quarantine writes
  impl_->writer.reset();
}

std::vector<std::uint32_t> Store::Impl::lookup_versions() const {
  std::lock_guard lock(mu);
  std::vector<std::uint32_t> out{keys->active_version()};
  if (store_version != out.front()) out.push_back(store_version);
  return out;
}

void Store::Impl::report_corrupt(const std::string& table, const IdHash& key, ByteView sealed,
                                 const std::string& code) {
  if (opt.on_integrity) opt.on_integrity(IntegrityEvent{table, crypto::to_hex(key), code});
  const bool has_content = table == "documents" || table == "cache";
  const std::string col = has_content ? "id_hash" : "key_hash";
  const std::string where = " WHERE " + col + "=? AND sealed=?";
  write<void>(false, [](Status) {}, [=, seen = Bytes(sealed.begin(), sealed.end())](sqlite::Db& db) -> Status {
    auto ins = db.prepare("INSERT INTO quarantine(source, key_hash, code, detected_at, sealed, content_header) "
                          "SELECT ?, " + col + ", ?, CAST(strftime('%s','now') AS INTEGER), sealed, " +
                          (has_content ? "content_header" : "NULL") + " FROM " + table + where);
    if (!ins) return std::move(ins).error();
    if (auto s = ins->bind(1, table).bind(2, code).bind(3, ByteView(key)).bind(4, ByteView(seen)).run(); !s) return s;
    if (db.changes() == 0) return {};  // already quarantined or replaced since
    auto del = db.prepare("DELETE FROM " + table + where);
    if (!del) return std::move(del).error();
    if (auto s = del->bind(1, ByteView(key)).bind(2, ByteView(seen)).run(); !s) return s;
    if (!has_content) return {};
    auto mv = db.prepare("UPDATE chunks SET owner=? WHERE owner=? AND id_hash=?");
    if (!mv) return std::move(mv).error();
    return mv->bind(1, store::quarantine_owner(table)).bind(2, table).bind(3, ByteView(key)).run();
  });
}

Result<std::vector<std::string>> Store::Impl::open_row(const std::string& table, const IdHash& key,
                                                       ByteView sealed, std::size_t fields) {
  auto plain = crypto::open(*ring(), crypto::Binding{table, key}, sealed);
  if (!plain) {
    if (is_integrity_error(plain.error())) report_corrupt(table, key, sealed, plain.error().code);
    return std::move(plain).error();
  }
  auto f = unpack(*plain, fields);
  if (!f) {
    report_corrupt(table, key, sealed, "record_malformed");
    return make_error("record_malformed", "sealed " + table + " record has an unexpected layout");
  }
  return std::move(*f);
}

namespace {

Error not_found(const char* what) { return make_error("not_found", std::string("no such ") + what); }

Result<DocumentRecord> document_from(std::vector<std::string> f) {
  DocumentRecord d{std::move(f[0]), std::move(f[1]), std::move(f[2]), std::stoll(f[3]), std::stoull(f[4])};
  return d;
}

}  // namespace

void Store::publish(DocumentRecord doc, crypto::Source content, Callback<void> done) {
  Impl& s = *impl_;
  s.write<void>(false, std::move(done), [&s, doc = std::move(doc), content = std::move(content)](sqlite::Db& db) -> Status {
    if (doc.document_id.empty() || doc.patient_id.empty()) {
      return make_error("invalid_argument", "a document needs a patient id and a document id");
    }
    if (auto d = store::delete_document(s, db, doc.document_id); !d) return std::move(d).error();
    const auto v = s.write_version();
    const IdHash id = s.hash(v, "document", doc.document_id);
    auto c = store::write_content(db, *s.ring(), v, "documents", id, content);
    if (!c) return std::move(c).error();
    return store::insert_document(s, db, v, id, doc, c->first, c->second);
  });
}

// Deletes a document row and its content under every lookup version.
Result<bool> store::delete_document(Store::Impl& s, sqlite::Db& db, const std::string& document_id) {
  bool any = false;
  for (const auto v : s.lookup_versions()) {
    const IdHash h = s.hash(v, "document", document_id);
    auto del = db.cached("DELETE FROM documents WHERE id_hash=?");
    if (!del) return std::move(del).error();
    if (auto st = (*del)->bind(1, ByteView(h)).run(); !st) return std::move(st).error();
    any = any || db.changes() > 0;
    if (auto st = store::delete_content(db, "documents", h); !st) return std::move(st).error();
  }
  return any;
}


Status store::insert_document(Store::Impl& s, sqlite::Db& db, std::uint32_t v, const IdHash& id,
                              const DocumentRecord& doc, ByteView header, std::uint64_t size) {
  const Bytes sealed = crypto::seal(*s.ring(), v, crypto::Binding{"documents", id},
                                    pack({doc.patient_id, doc.document_id, doc.metadata_json,
                                          std::to_string(doc.published_at), std::to_string(size)}));
  auto ins = db.cached("INSERT INTO documents(id_hash, patient_hash, key_version, sealed, content_header) "
                       "VALUES(?, ?, ?, ?, ?)");
  if (!ins) return std::move(ins).error();
  return (*ins)->bind(1, ByteView(id)).bind(2, ByteView(s.hash(v, "patient", doc.patient_id)))
      .bind(3, std::int64_t{v}).bind(4, ByteView(sealed)).bind(5, header).run();
}

namespace {

struct FoundDocument {
  IdHash id;
  Bytes sealed;
  Bytes header;
};

Result<FoundDocument> find_document(Store::Impl& s, sqlite::Db& db, const std::string& document_id) {
  for (const auto v : s.lookup_versions()) {
    const IdHash h = s.hash(v, "document", document_id);
    auto q = db.cached("SELECT sealed, content_header FROM documents WHERE id_hash=?");
    if (!q) return std::move(q).error();
    (*q)->bind(1, ByteView(h));
    auto r = (*q)->step();
    if (!r) return std::move(r).error();
    if (*r) {
      FoundDocument f{h, (*q)->bytes(0), (*q)->bytes(1)};
      (*q)->reset();
      return f;
    }
  }
  return not_found("document");
}

}  // namespace

void Store::get_document(std::string document_id, Callback<DocumentRecord> done) {
  Impl& s = *impl_;
  s.read<DocumentRecord>(std::move(done), [&s, id = std::move(document_id)](sqlite::Db& db) -> Result<DocumentRecord> {
    auto f = find_document(s, db, id);
    if (!f) return std::move(f).error();
    auto fields = s.open_row("documents", f->id, f->sealed, 5);
    if (!fields) return std::move(fields).error();
    return document_from(std::move(*fields));
  });
}

void Store::read_content(std::string document_id, crypto::Sink out, Callback<void> done) {
  Impl& s = *impl_;
  s.read<void>(std::move(done), [&s, id = std::move(document_id), out = std::move(out)](sqlite::Db& db) -> Status {
    auto f = find_document(s, db, id);
    if (!f) return std::move(f).error();
    auto st = store::read_content(db, *s.ring(), "documents", f->id, f->header, &out);
    if (!st && is_integrity_error(st.error())) s.report_corrupt("documents", f->id, f->sealed, st.error().code);
    return st;
  });
}

namespace {

class DocumentCursor final : public ContentCursor {
public:
  DocumentCursor(Store::Impl& s, std::string id) : s_(s), state_(std::make_shared<State>()) {
    state_->document_id = std::move(id);
  }
  void next(std::size_t max_bytes, Callback<std::string> done) override {
    // Set by the previous window's job, whose callback preceded this call.
    if (state_->windows.ended) return done(std::string());
    s_.read<std::string>(std::move(done), [&s = s_, st = state_, max_bytes](sqlite::Db& db) -> Result<std::string> {
      auto f = find_document(s, db, st->document_id);
      if (!f) return std::move(f).error();
      auto w = store::read_window(db, *s.ring(), "documents", f->id, f->header, st->windows, max_bytes);
      if (!w && is_integrity_error(w.error())) s.report_corrupt("documents", f->id, f->sealed, w.error().code);
      return w;
    });
  }

  [[nodiscard]] bool ended() const override { return state_->windows.ended; }

private:
  struct State {
    std::string document_id;
    store::ContentWindows windows;  // reader threads, one window job at a time
  };
  Store::Impl& s_;
  std::shared_ptr<State> state_;
};

}  // namespace

std::shared_ptr<ContentCursor> Store::document_cursor(std::string document_id) {
  return std::make_shared<DocumentCursor>(*impl_, std::move(document_id));
}

void Store::list_documents(std::string patient_id, Callback<std::vector<DocumentRecord>> done) {
  Impl& s = *impl_;
  s.read<std::vector<DocumentRecord>>(std::move(done), [&s, pid = std::move(patient_id)](sqlite::Db& db)
                                                           -> Result<std::vector<DocumentRecord>> {
    std::vector<DocumentRecord> out;
    for (const auto v : s.lookup_versions()) {
      auto q = db.cached("SELECT id_hash, sealed FROM documents WHERE patient_hash=? ORDER BY rowid");
      if (!q) return std::move(q).error();
      (*q)->bind(1, ByteView(s.hash(v, "patient", pid)));
      for (;;) {
        auto r = (*q)->step();
        if (!r) return std::move(r).error();
        if (!*r) break;
        auto fields = s.open_row("documents", store::to_hash((*q)->blob(0)), (*q)->blob(1), 5);
        if (fields && (*fields)[0] == pid) out.push_back(std::move(document_from(std::move(*fields))).value());
      }
    }
    return out;
  });
}

void Store::remove_document(std::string document_id, Callback<void> done) {
  Impl& s = *impl_;
  s.write<void>(false, std::move(done), [&s, id = std::move(document_id)](sqlite::Db& db) -> Status {
    auto d = store::delete_document(s, db, id);
    if (!d) return std::move(d).error();
    if (!*d) return not_found("document");
    return {};
  });
}

}  // namespace hiegate::daemon
