#include <gtest/gtest.h>
#include <sqlite3.h>

#include <future>
#include <thread>

#include "hiegate/crypto/primitives.hpp"
#include "store_fixture.hpp"
#include "support/peak_memory.hpp"

namespace hiegate::daemon {
namespace {

using namespace testing;
using test::TempDir;

TEST(Store, PublishGetListReadRemove) {
  TempDir dir;
  auto store = open_store(dir, make_ring({{1, 'k'}}));
  ASSERT_TRUE(store.ok()) << store.error().message;
  Store& s = **store;
  ASSERT_TRUE(publish(s, doc("P1", "D1", R"({"title":"discharge"})"), "content one").ok());
  ASSERT_TRUE(publish(s, doc("P1", "D2"), std::string(200000, 'x')).ok());
  ASSERT_TRUE(publish(s, doc("P2", "D3"), "").ok());

  auto d1 = get_document(s, "D1");
  ASSERT_TRUE(d1.ok()) << d1.error().message;
  EXPECT_EQ(d1->patient_id, "P1");
  EXPECT_EQ(d1->metadata_json, R"({"title":"discharge"})");
  EXPECT_EQ(d1->content_size, 11u);
  EXPECT_EQ(*read_content(s, "D1"), "content one");
  EXPECT_EQ(*read_content(s, "D2"), std::string(200000, 'x'));
  EXPECT_EQ(*read_content(s, "D3"), "");

  auto list = wait<std::vector<DocumentRecord>>([&](auto cb) { s.list_documents("P1", cb); });
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].document_id, "D1");
  EXPECT_EQ((*list)[1].document_id, "D2");

  // Republishing replaces.
  ASSERT_TRUE(publish(s, doc("P1", "D1", "{}"), "v2").ok());
  EXPECT_EQ(*read_content(s, "D1"), "v2");
  ASSERT_TRUE(wait<void>([&](auto cb) { s.remove_document("D1", cb); }).ok());
  EXPECT_EQ(get_document(s, "D1").error().code, "not_found");
  EXPECT_EQ(wait<void>([&](auto cb) { s.remove_document("D1", cb); }).error().code, "not_found");
  EXPECT_EQ(publish(s, doc("", "D9"), "x").error().code, "invalid_argument");
}

TEST(Store, RecordsPersistAcrossReopen) {
  TempDir dir;
  auto keys = make_ring({{1, 'k'}});
  {
    auto store = open_store(dir, keys);
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE(put_record(**store, RecordTable::consents, {"C1", "P1", "opt-in"}).ok());
    ASSERT_TRUE(put_record(**store, RecordTable::consents, {"C2", "P1", "opt-out"}).ok());
    ASSERT_TRUE(put_record(**store, RecordTable::users, {"U1", "", "nurse"}).ok());
    ASSERT_TRUE(put_record(**store, RecordTable::audit, {"1", "", std::string("\0bin", 4)}).ok());
  }
  auto store = open_store(dir, keys);
  ASSERT_TRUE(store.ok());
  Store& s = **store;
  EXPECT_EQ(get_record(s, RecordTable::consents, "C1")->value, "opt-in");
  EXPECT_EQ(get_record(s, RecordTable::users, "U1")->value, "nurse");
  EXPECT_EQ(get_record(s, RecordTable::audit, "1")->value, std::string("\0bin", 4));
  EXPECT_EQ(get_record(s, RecordTable::users, "C1").error().code, "not_found");  // tables are separate
  auto list = wait<std::vector<StoredRecord>>([&](auto cb) { s.list_records(RecordTable::consents, "P1", cb); });
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[1].key, "C2");
  ASSERT_TRUE(wait<void>([&](auto cb) { s.erase_record(RecordTable::consents, "C1", cb); }).ok());
  EXPECT_EQ(get_record(s, RecordTable::consents, "C1").error().code, "not_found");
}

// A store whose cache holds 250 bytes for 100 s, and a put of `size` bytes
// from facility F1.
Result<std::unique_ptr<Store>> open_small_cache(const TempDir& dir) {
  StoreOptions opt;
  opt.cache_max_bytes = 250;
  opt.cache_ttl_seconds = 100;
  return open_store(dir, make_ring({{1, 'k'}}), opt);
}
Status cache_put(Store& s, const std::string& id, std::size_t size, std::int64_t now) {
  return wait<void>([&](auto cb) { s.cache_put({"F1", id, "{}", 0, 0}, source_of(std::string(size, 'c')), now, cb); });
}

TEST(Store, CacheTtlAndLruCap) {
  TempDir dir;
  auto store = open_small_cache(dir);
  ASSERT_TRUE(store.ok());
  Store& s = **store;
  auto put = [&](const std::string& id, std::size_t size, std::int64_t now) { return cache_put(s, id, size, now); };
  auto get = [&](const std::string& id, std::int64_t now) {
    return wait<CachedDocument>([&](auto cb) { s.cache_get("F1", id, now, cb); });
  };
  ASSERT_TRUE(put("A", 100, 1000).ok());
  ASSERT_TRUE(put("B", 100, 1001).ok());
  ASSERT_TRUE(get("A", 1002).ok());  // A is now more recently used than B
  ASSERT_TRUE(put("C", 100, 1003).ok());  // over the cap: B goes
  EXPECT_EQ(get("B", 1004).error().code, "not_found");
  auto a = get("A", 1004);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->expires_at, 1100);
  EXPECT_EQ(a->content_size, 100u);
  std::string content;
  ASSERT_TRUE(wait<void>([&](auto cb) { s.cache_read("F1", "C", 1004, sink_into(content), cb); }).ok());
  EXPECT_EQ(content, std::string(100, 'c'));
  EXPECT_EQ(get("A", 1100).error().code, "not_found");  // expired
  EXPECT_EQ(put("huge", 300, 1005).error().code, "cache_too_large");
  EXPECT_TRUE(get("C", 1006).ok());  // the failed put changed nothing
  auto purged = wait<std::uint64_t>([&](auto cb) { s.cache_purge(1101, false, cb); });
  ASSERT_TRUE(purged.ok());
  EXPECT_EQ(*purged, 1u);  // A expired; C (stored at 1003) expires at 1103
  EXPECT_EQ(*wait<std::uint64_t>([&](auto cb) { s.cache_purge(0, true, cb); }), 1u);
}

TEST(Store, CachedReadsWriteNothingButStillDecideEviction) {
  TempDir dir;
  auto store = open_small_cache(dir);
  ASSERT_TRUE(store.ok());
  Store& s = **store;
  auto put = [&](const std::string& id, std::int64_t now) { return cache_put(s, id, 100, now); };
  ASSERT_TRUE(put("A", 1000).ok());
  ASSERT_TRUE(put("B", 1001).ok());
  // Another connection sees whether anything was committed meanwhile.
  sqlite3* watcher = nullptr;
  ASSERT_EQ(sqlite3_open((dir / "state" / kStoreFileName).c_str(), &watcher), SQLITE_OK);
  auto data_version = [&] {
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(watcher, "PRAGMA data_version", -1, &st, nullptr);
    std::int64_t v = -1;
    if (sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
  };
  const auto before = data_version();
  ASSERT_TRUE(wait<CachedDocument>([&](auto cb) { s.cache_get("F1", "A", 1002, cb); }).ok());
  std::string content;
  ASSERT_TRUE(wait<void>([&](auto cb) { s.cache_read("F1", "A", 1002, sink_into(content), cb); }).ok());
  EXPECT_EQ(content.size(), 100u);
  EXPECT_EQ(data_version(), before);  // reading a cached copy committed nothing
  sqlite3_close(watcher);
  EXPECT_EQ(count(dir, "SELECT count(*) FROM cache WHERE last_used=1002"), 0);
  // The next cache write records the read before it evicts: B, not A, goes.
  ASSERT_TRUE(put("C", 1003).ok());
  EXPECT_EQ(count(dir, "SELECT count(*) FROM cache WHERE last_used=1002"), 1);
  EXPECT_EQ(wait<CachedDocument>([&](auto cb) { s.cache_get("F1", "B", 1004, cb); }).error().code, "not_found");
  EXPECT_TRUE(wait<CachedDocument>([&](auto cb) { s.cache_get("F1", "A", 1004, cb); }).ok());
}

TEST(Store, RefusesNewerSchemaWithoutChangingIt) {
  TempDir dir;
  auto keys = make_ring({{1, 'k'}});
  { ASSERT_TRUE(open_store(dir, keys).ok()); }
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((dir / "state" / kStoreFileName).c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "PRAGMA user_version=99", nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
  }
  auto store = open_store(dir, keys);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().code, "schema_too_new");
}

TEST(Store, MigratesAnOlderSchemaKeepingItsRecords) {
  TempDir dir;
  auto keys = make_ring({{1, 'k'}});
  {
    auto s = open_store(dir, keys);
    ASSERT_TRUE(s.ok());
    ASSERT_TRUE(wait<void>([&](auto cb) { (*s)->put_record(RecordTable::users, {"u1", "g", "v1"}, cb); }).ok());
  }
  {
    // What a schema-1 store looks like: no emergencies table.
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((dir / "state" / kStoreFileName).c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "DROP TABLE emergencies; PRAGMA user_version=1", nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
  }
  auto s = open_store(dir, keys);
  ASSERT_TRUE(s.ok()) << s.error().message;
  auto u = wait<StoredRecord>([&](auto cb) { (*s)->get_record(RecordTable::users, "u1", cb); });
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->value, "v1");
  ASSERT_TRUE(wait<void>([&](auto cb) {
                (*s)->put_record(RecordTable::emergencies, {"e1", "emergency", "{}"}, cb);
              }).ok());
  auto rows = wait<std::vector<StoredRecord>>(
      [&](auto cb) { (*s)->list_records(RecordTable::emergencies, "emergency", cb); });
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(rows->size(), 1U);
}

// Schema 2 kept content chunks in a WITHOUT ROWID table (each lookup read
// whole chunks to compare keys); schema 3 moves them to a rowid table with
// the key in its own index. A schema-2 store keeps every content.
TEST(Store, MigratesSchemaTwoChunksKeepingEveryContent) {
  TempDir dir;
  auto keys = make_ring({{1, 'k'}});
  {
    auto s = open_store(dir, keys);
    ASSERT_TRUE(s.ok());
    ASSERT_TRUE(publish(**s, doc("P1", "D1"), "small").ok());
    ASSERT_TRUE(publish(**s, doc("P1", "D2"), std::string(200000, 'y')).ok());  // four chunks
    for (int i = 0; i < 40; ++i) ASSERT_TRUE(publish(**s, doc("P2", "M" + std::to_string(i)), "m").ok());
  }
  sql(dir, "CREATE TABLE chunks_v2(owner TEXT NOT NULL, id_hash BLOB NOT NULL, seq INTEGER NOT NULL,"
           " data BLOB NOT NULL, PRIMARY KEY(owner, id_hash, seq)) WITHOUT ROWID;"
           "INSERT INTO chunks_v2 SELECT owner, id_hash, seq, data FROM chunks; DROP TABLE chunks;"
           "ALTER TABLE chunks_v2 RENAME TO chunks; PRAGMA user_version=2");
  // The migration says it is alive (the daemon extends systemd's start
  // timeout with it); here at every progress tick.
  StoreOptions opt;
  int ticks = 0;
  opt.on_long_work = [&ticks] { ++ticks; };
  opt.long_work_interval = std::chrono::milliseconds(0);
  auto s = open_store(dir, keys, opt);
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_GT(ticks, 0);
  EXPECT_EQ(*read_content(**s, "D1"), "small");
  EXPECT_EQ(*read_content(**s, "D2"), std::string(200000, 'y'));
  EXPECT_EQ(count(dir, "SELECT COUNT(*) FROM sqlite_master WHERE name='chunks' AND sql LIKE '%WITHOUT ROWID%'"), 0);
  EXPECT_EQ(count(dir, "SELECT COUNT(*) FROM chunks"), 45);
  EXPECT_EQ(*read_content(**s, "M39"), "m");
  EXPECT_EQ(count(dir, "PRAGMA user_version"), kStoreSchemaVersion);
  auto report = check(**s);
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->failures.empty());
  EXPECT_EQ(report->sqlite_check, "ok");
}

std::string file_digest(const std::filesystem::path& p) {
  return crypto::to_hex(crypto::sha256(test::read_file(p)));
}

TEST(Store, WrongKeyRefusedAndNothingChanges) {
  TempDir dir;
  {
    auto store = open_store(dir, make_ring({{1, 'k'}}));
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE(publish(**store, doc("P1", "D1"), "x").ok());
  }
  const auto db = dir / "state" / kStoreFileName;
  const std::string before = file_digest(db);
  auto wrong = open_store(dir, make_ring({{1, 'w'}}));
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().code, "master_key_mismatch");
  auto missing = open_store(dir, make_ring({{2, 'k'}}));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, "key_unavailable");
  EXPECT_NE(missing.error().message.find("master-key"), std::string::npos);
  EXPECT_EQ(file_digest(db), before);
  auto right = open_store(dir, make_ring({{1, 'k'}}));
  ASSERT_TRUE(right.ok());
  EXPECT_EQ(*read_content(**right, "D1"), "x");
}

TEST(Store, SixtyFourMebibyteDocumentInBoundedMemory) {
  TempDir dir;
  auto store = open_store(dir, make_ring({{1, 'k'}}));
  ASSERT_TRUE(store.ok());
  constexpr std::size_t kSize = 64u << 20;
  const long before = test::peak_rss_kib();
  std::size_t produced = 0;
  crypto::Source gen = [&](std::span<std::uint8_t> out) -> Result<std::size_t> {
    const std::size_t n = std::min(out.size(), kSize - produced);
    for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<std::uint8_t>((produced + i) % 251);
    produced += n;
    return n;
  };
  ASSERT_TRUE(wait<void>([&](auto cb) { (*store)->publish(doc("P", "big"), gen, cb); }).ok());
  std::size_t seen = 0;
  bool same = true;
  auto st = wait<void>([&](auto cb) {
    (*store)->read_content("big", [&](crypto::ByteView d) -> Status {
      for (std::size_t i = 0; i < d.size(); ++i) same = same && d[i] == static_cast<std::uint8_t>((seen + i) % 251);
      seen += d.size();
      return {};
    }, cb);
  });
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_EQ(seen, kSize);
  EXPECT_TRUE(same);
  const long grown = test::peak_rss_kib() - before;
  RecordProperty("peak_rss_growth_kib", static_cast<int>(grown));
  if (test::kPeakRssMeaningful) {
    EXPECT_LT(grown, 16 * 1024) << "peak RSS grew by " << grown << " KiB for a 64 MiB document";
  }
}

// A read chained in a read's callback (what a handler does: the document,
// then its content) runs at once on the same reader thread, before the call
// returns; a read from any other thread is queued for a reader. A long
// chain is queued past a bounded depth, and every callback still runs once.
TEST(Store, ChainedReadsRunOnTheReaderThreadWithoutAHandOff) {
  TempDir dir;
  auto store = open_store(dir, make_ring({{1, 'a'}}));
  ASSERT_TRUE(store);
  auto& s = **store;
  ASSERT_TRUE(publish(s, doc("p1", "d1"), "content of d1").ok());

  struct Seen {
    std::thread::id outer, inner;
    bool inner_before_return = false;
    std::string content;
  };
  auto seen = wait<Seen>([&](auto cb) {
    s.get_document("d1", [&s, cb](Result<DocumentRecord> d) {
      EXPECT_TRUE(d);
      auto out = std::make_shared<Seen>();
      out->outer = std::this_thread::get_id();
      auto returned = std::make_shared<bool>(false);
      s.read_content("d1", sink_into(out->content), [out, returned, cb](Result<void> r) {
        EXPECT_TRUE(r);
        out->inner = std::this_thread::get_id();
        out->inner_before_return = !*returned;
        cb(*out);
      });
      *returned = true;
    });
  });
  ASSERT_TRUE(seen);
  EXPECT_NE(seen->outer, std::this_thread::get_id());
  EXPECT_EQ(seen->inner, seen->outer);
  EXPECT_TRUE(seen->inner_before_return);
  EXPECT_EQ(seen->content, "content of d1");

  // From this (non-store) thread the read is queued: it runs on a reader.
  std::promise<std::thread::id> ran;
  s.get_document("d1", [&ran](Result<DocumentRecord>) { ran.set_value(std::this_thread::get_id()); });
  EXPECT_NE(ran.get_future().get(), std::this_thread::get_id());

  // A chain of 50 reads, each in the previous one's callback: all answer.
  std::function<void(int, std::function<void(Result<int>)>)> chain = [&](int left, auto cb) {
    s.get_document("d1", [&chain, left, cb](Result<DocumentRecord> d) {
      if (!d) return cb(std::move(d).error());
      if (left == 0) return cb(50);
      chain(left - 1, cb);
    });
  };
  auto n = wait<int>([&](auto cb) { chain(50, cb); });
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 50);
}

// The reads a request chains share one snapshot: a document replaced
// between the read of its row and the read of its content (here, while the
// first callback runs) is served as it was when the chain began, never as
// the old row with the new content. The next request sees the new one.
TEST(Store, ChainedReadsShareOneSnapshot) {
  TempDir dir;
  auto store = open_store(dir, make_ring({{1, 'a'}}));
  ASSERT_TRUE(store);
  auto& s = **store;
  ASSERT_TRUE(publish(s, doc("p1", "d1"), "first version").ok());

  auto content = wait<std::string>([&](auto cb) {
    s.get_document("d1", [&s, cb](Result<DocumentRecord> d) {
      EXPECT_TRUE(d);
      // The writer commits a replacement meanwhile (this reader waits).
      EXPECT_TRUE(publish(s, doc("p1", "d1"), "second version, longer").ok());
      auto out = std::make_shared<std::string>();
      s.read_content("d1", sink_into(*out), [out, cb](Result<void> r) {
        if (!r) return cb(std::move(r).error());
        cb(*out);
      });
    });
  });
  ASSERT_TRUE(content) << content.error().message;
  EXPECT_EQ(*content, "first version");
  auto now = read_content(s, "d1");
  ASSERT_TRUE(now);
  EXPECT_EQ(*now, "second version, longer");
}

}  // namespace
}  // namespace hiegate::daemon
