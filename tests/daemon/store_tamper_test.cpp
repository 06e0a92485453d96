// Tampering with sealed rows is detected, reported without identifiers,
// quarantined, and the rest of the store keeps serving.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <mutex>

#include "store_fixture.hpp"

namespace hiegate::daemon {
namespace {

using namespace testing;
using test::TempDir;

struct Events {
  std::mutex mu;
  std::vector<IntegrityEvent> seen;
  StoreOptions options() {
    StoreOptions o;
    o.on_integrity = [this](const IntegrityEvent& e) {
      std::lock_guard lock(mu);
      seen.push_back(e);
    };
    return o;
  }
};

// Any write queued after a read's quarantine job completes after it.
void flush_writes(Store& s) { ASSERT_TRUE(put_record(s, RecordTable::users, {"flush", "", ""}).ok()); }

class Tamper : public ::testing::Test {
protected:
  void SetUp() override {
    auto store = open_store(dir, keys);
    ASSERT_TRUE(store.ok());
    for (int i = 1; i <= 3; ++i) {
      const std::string n = std::to_string(i);
      ASSERT_TRUE(publish(**store, doc("P" + n, "D" + n), "content " + n).ok());
      ASSERT_TRUE(put_record(**store, RecordTable::consents, {"C" + n, "P" + n, "consent " + n}).ok());
    }
  }
  TempDir dir;
  std::shared_ptr<const crypto::KeyRing> keys = make_ring({{1, 'k'}});
  Events events;
};

TEST_F(Tamper, FlippedByteDetectedQuarantinedRestServed) {
  flip(dir, "documents", "sealed", "rowid = 2", 40);
  auto store = open_store(dir, keys, events.options());
  ASSERT_TRUE(store.ok());
  Store& s = **store;
  auto bad = get_document(s, "D2");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, "record_corrupt");
  EXPECT_EQ(bad.error().message.find("D2"), std::string::npos);
  EXPECT_TRUE(get_document(s, "D1").ok());
  EXPECT_EQ(*read_content(s, "D3"), "content 3");
  flush_writes(s);
  EXPECT_EQ(get_document(s, "D2").error().code, "not_found");  // quarantined
  {
    std::lock_guard lock(events.mu);
    ASSERT_EQ(events.seen.size(), 1u);
    EXPECT_EQ(events.seen[0].table, "documents");
    EXPECT_EQ(events.seen[0].key_hash_hex.size(), 64u);
    EXPECT_EQ(events.seen[0].code, "record_corrupt");
  }
  store->reset();
  EXPECT_EQ(count(dir, "SELECT count(*) FROM quarantine WHERE source='documents'"), 1);
  EXPECT_EQ(count(dir, "SELECT count(*) FROM chunks WHERE owner='quarantine:documents'"), 1);
  EXPECT_EQ(count(dir, "SELECT count(*) FROM documents"), 2);
}

TEST_F(Tamper, SwappedCiphertextsDetectedByCheck) {
  sql(dir, "CREATE TEMP TABLE s AS SELECT rowid AS r, sealed FROM consents WHERE rowid IN (1, 2);"
           "UPDATE consents SET sealed = (SELECT sealed FROM s WHERE r = 3 - consents.rowid) WHERE rowid IN (1, 2);");
  auto store = open_store(dir, keys, events.options());
  ASSERT_TRUE(store.ok());
  Store& s = **store;
  auto report = check(s);
  ASSERT_TRUE(report.ok()) << report.error().message;
  EXPECT_EQ(report->checked, 6u);
  EXPECT_EQ(report->sqlite_check, "ok");
  ASSERT_EQ(report->failures.size(), 2u);
  EXPECT_EQ(report->failures[0].table, "consents");
  EXPECT_EQ(get_record(s, RecordTable::consents, "C3")->value, "consent 3");
  flush_writes(s);
  EXPECT_EQ(get_record(s, RecordTable::consents, "C1").error().code, "not_found");
  auto again = check(s);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->failures.empty());
  EXPECT_EQ(again->checked, 5u);  // 3 documents, 1 consent, the flush user
}

TEST_F(Tamper, ContentChunkTamperingAndMovedChunksDetected) {
  flip(dir, "chunks", "data", "seq = 0 AND id_hash = (SELECT id_hash FROM documents WHERE rowid = 1)", 3);
  // Give document 3 the content of document 2 (a valid ciphertext, wrong row).
  sql(dir, "DELETE FROM chunks WHERE id_hash = (SELECT id_hash FROM documents WHERE rowid = 3);"
           "INSERT INTO chunks SELECT owner, (SELECT id_hash FROM documents WHERE rowid = 3), seq, data FROM chunks "
           "WHERE id_hash = (SELECT id_hash FROM documents WHERE rowid = 2);"
           "UPDATE documents SET content_header = (SELECT content_header FROM documents WHERE rowid = 2) "
           "WHERE rowid = 3");
  auto store = open_store(dir, keys, events.options());
  ASSERT_TRUE(store.ok());
  Store& s = **store;
  std::string got;
  auto st = wait<void>([&](auto cb) { s.read_content("D1", sink_into(got), cb); });
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, "record_corrupt");
  EXPECT_TRUE(got.empty());  // nothing unauthenticated reached the sink
  EXPECT_EQ(read_content(s, "D3").error().code, "record_corrupt");
  EXPECT_EQ(*read_content(s, "D2"), "content 2");
  flush_writes(s);
  auto report = check(s);
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->failures.empty());
  EXPECT_EQ(report->checked, 5u);  // D2, three consents, the flush user
  EXPECT_EQ(get_document(s, "D1").error().code, "not_found");
  EXPECT_EQ(get_document(s, "D3").error().code, "not_found");
  EXPECT_TRUE(get_document(s, "D2").ok());
}

}  // namespace
}  // namespace hiegate::daemon
