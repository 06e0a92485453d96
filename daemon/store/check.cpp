// Full integrity check: opens every sealed row and every content stream.
#include "store/store_impl.hpp"

namespace hiegate::daemon {

void Store::check(Callback<CheckReport> done) {
  Impl& s = *impl_;
  s.read<CheckReport>(std::move(done), [&s](sqlite::Db& db) -> Result<CheckReport> {
    CheckReport report;
    auto qc = db.prepare("PRAGMA quick_check");
    if (!qc) return std::move(qc).error();
    for (;;) {
      auto r = qc->step();
      if (!r) return std::move(r).error();
      if (!*r) break;
      if (!report.sqlite_check.empty()) report.sqlite_check += "; ";
      report.sqlite_check += qc->text(0);
    }
    for (const auto& t : store::kSealedTables) {
      auto q = db.prepare(std::string("SELECT ") + t.key_col + ", sealed" + (t.content ? ", content_header" : "") +
                          " FROM " + t.name + " ORDER BY rowid");
      if (!q) return std::move(q).error();
      for (;;) {
        auto r = q->step();
        if (!r) return std::move(r).error();
        if (!*r) break;
        ++report.checked;
        const IdHash key = store::to_hash(q->blob(0));
        auto fields = s.open_row(t.name, key, q->blob(1), t.fields);
        Status st = fields ? Status{} : Status(fields.error());
        if (st && t.content) {
          st = store::read_content(db, *s.ring(), t.name, key, q->blob(2), nullptr);
          if (!st && is_integrity_error(st.error())) s.report_corrupt(t.name, key, q->blob(1), st.error().code);
        }
        if (!st) {
          if (!is_integrity_error(st.error())) return std::move(st).error();
          report.failures.push_back(IntegrityEvent{t.name, crypto::to_hex(key), st.error().code});
        }
      }
    }
    return report;
  });
}

}  // namespace hiegate::daemon
