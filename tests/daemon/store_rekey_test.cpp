// Online rekey to a new key version: batches, persisted progress, resume,
// old key needed only until finished.
#include <gtest/gtest.h>

#include <atomic>
#include <future>

#include "store_fixture.hpp"

namespace hiegate::daemon {
namespace {

using namespace testing;
using test::TempDir;

void expect_all_readable(Store& s, int docs) {
  for (int i = 0; i < docs; ++i) {
    const std::string n = std::to_string(i);
    auto d = get_document(s, "D" + n);
    ASSERT_TRUE(d.ok()) << "D" << n << ": " << d.error().message;
    EXPECT_EQ(d->patient_id, "P" + std::to_string(i % 2));
    auto c = read_content(s, "D" + n);
    ASSERT_TRUE(c.ok()) << c.error().message;
    EXPECT_EQ(*c, i == 0 ? std::string(150000, 'z') : "content " + n);
    auto r = get_record(s, RecordTable::consents, "C" + n);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->value, "consent " + n);
  }
  auto list = wait<std::vector<DocumentRecord>>([&](auto cb) { s.list_documents("P0", cb); });
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->size(), static_cast<std::size_t>((docs + 1) / 2));
  auto cached = wait<CachedDocument>([&](auto cb) { s.cache_get("F", "X", 10, cb); });
  ASSERT_TRUE(cached.ok());
  auto report = check(s);
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->failures.empty());
}

TEST(StoreRekey, InterruptedRekeyResumesAndOldKeyBecomesUnneeded) {
  TempDir dir;
  const auto v1 = make_ring({{1, 'a'}});
  const auto both = make_ring({{1, 'a'}, {2, 'b'}});
  constexpr int kDocs = 5;
  {
    auto store = open_store(dir, v1);
    ASSERT_TRUE(store.ok());
    for (int i = 0; i < kDocs; ++i) {
      const std::string n = std::to_string(i);
      ASSERT_TRUE(publish(**store, doc("P" + std::to_string(i % 2), "D" + n),
                          i == 0 ? std::string(150000, 'z') : "content " + n).ok());
      ASSERT_TRUE(put_record(**store, RecordTable::consents, {"C" + n, "P0", "consent " + n}).ok());
    }
    ASSERT_TRUE(wait<void>([&](auto cb) { (*store)->cache_put({"F", "X", "{}", 0, 0}, source_of("c"), 1, cb); }).ok());
    EXPECT_FALSE((*store)->rekey_status().running);
  }
  StoreOptions opt;
  opt.rekey_batch_rows = 3;
  {
    auto store = open_store(dir, both, opt);
    ASSERT_TRUE(store.ok()) << store.error().message;
    Store& s = **store;
    auto st = s.rekey_status();
    EXPECT_TRUE(st.running);
    EXPECT_EQ(st.from_version, 1u);
    EXPECT_EQ(st.to_version, 2u);
    EXPECT_EQ(st.total, 2u * kDocs + 1);
    EXPECT_EQ(st.done, 0u);
    auto step = wait<RekeyStatus>([&](auto cb) { s.rekey_step(cb); });
    ASSERT_TRUE(step.ok()) << step.error().message;
    EXPECT_EQ(step->done, 3u);
    EXPECT_TRUE(step->running);
    // Writes during the rekey use the new version; everything stays readable.
    ASSERT_TRUE(publish(s, doc("P1", "D1"), "content 1").ok());
    expect_all_readable(s, kDocs);
  }  // interrupted here
  {
    auto only_new = open_store(dir, make_ring({{2, 'b'}}), opt);
    ASSERT_FALSE(only_new.ok());
    EXPECT_EQ(only_new.error().code, "key_unavailable");
  }
  {
    auto store = open_store(dir, both, opt);
    ASSERT_TRUE(store.ok());
    Store& s = **store;
    EXPECT_EQ(s.rekey_status().done, 3u);  // progress survived the restart
    EXPECT_TRUE(s.rekey_status().running);
    auto fin = wait<RekeyStatus>([&](auto cb) { s.start_rekey(cb); });
    ASSERT_TRUE(fin.ok()) << fin.error().message;
    EXPECT_FALSE(fin->running);
    EXPECT_FALSE(s.rekey_status().running);
    EXPECT_GE(fin->done, fin->total - 1);  // D1 was rewritten under v2 meanwhile
    expect_all_readable(s, kDocs);
  }
  // Finished: the old key is no longer needed, and no longer accepted alone.
  {
    auto store = open_store(dir, make_ring({{2, 'b'}}), opt);
    ASSERT_TRUE(store.ok()) << store.error().message;
    expect_all_readable(**store, kDocs);
  }
  auto old_only = open_store(dir, v1, opt);
  ASSERT_FALSE(old_only.ok());
  EXPECT_EQ(old_only.error().code, "key_unavailable");
  auto wrong_new = open_store(dir, make_ring({{2, 'c'}}), opt);
  ASSERT_FALSE(wrong_new.ok());
  EXPECT_EQ(wrong_new.error().code, "master_key_mismatch");
}

TEST(StoreRekey, CorruptRowIsQuarantinedAndTheRestMoves) {
  TempDir dir;
  {
    auto store = open_store(dir, make_ring({{1, 'a'}}));
    ASSERT_TRUE(store.ok());
    for (int i = 0; i < 4; ++i) {
      ASSERT_TRUE(publish(**store, doc("P", "D" + std::to_string(i)), std::string(200000, 'a' + i)).ok());
    }
  }
  // Damage the last chunk of D1: its first chunks re-seal fine before the failure.
  flip(dir, "chunks", "data", "seq = 3 AND id_hash = (SELECT id_hash FROM documents WHERE rowid = 2)", 5);
  std::atomic<int> events{0};
  StoreOptions opt;
  opt.on_integrity = [&](const IntegrityEvent&) { ++events; };
  {
    auto store = open_store(dir, make_ring({{1, 'a'}, {2, 'b'}}), opt);
    ASSERT_TRUE(store.ok());
    auto fin = wait<RekeyStatus>([&](auto cb) { (*store)->start_rekey(cb); });
    ASSERT_TRUE(fin.ok()) << fin.error().message;
    EXPECT_FALSE(fin->running);
    EXPECT_EQ(events.load(), 1);
  }
  EXPECT_EQ(count(dir, "SELECT count(*) FROM quarantine"), 1);
  // No half re-sealed chunks were left behind for the failed row.
  EXPECT_EQ(count(dir, "SELECT count(*) FROM chunks WHERE owner = 'documents'"), 3 * 4);
  auto store = open_store(dir, make_ring({{2, 'b'}}), opt);
  ASSERT_TRUE(store.ok()) << store.error().message;
  EXPECT_EQ(get_document(**store, "D1").error().code, "not_found");
  for (int i : {0, 2, 3}) EXPECT_EQ(*read_content(**store, "D" + std::to_string(i)), std::string(200000, 'a' + i));
  auto report = check(**store);
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->failures.empty());
}

// A ring handed to an open store; `finished` (if given) receives the end of
// the background rekey.
Result<RekeyStatus> adopt(Store& s, std::shared_ptr<const crypto::KeyRing> ring,
                          std::promise<Result<RekeyStatus>>* finished = nullptr) {
  return wait<RekeyStatus>([&](auto cb) {
    s.adopt_keys(std::move(ring), cb, [finished](Result<RekeyStatus> r) {
      if (finished != nullptr) finished->set_value(std::move(r));
    });
  });
}

TEST(StoreRekey, AdoptedRingIsCheckedThenRekeyedInTheBackground) {
  TempDir dir;
  StoreOptions opt;
  opt.rekey_batch_rows = 2;
  auto store = open_store(dir, make_ring({{1, 'a'}}), opt);
  ASSERT_TRUE(store.ok());
  Store& s = **store;
  for (int i = 0; i < 5; ++i) {
    const std::string n = std::to_string(i);
    ASSERT_TRUE(publish(s, doc("P" + n, "D" + n), "content " + n).ok());
  }
  EXPECT_FALSE(adopt(s, make_ring({{1, 'a'}}))->running);  // nothing new: nothing to do

  // Refused, and nothing recorded: a ring whose version 1 is another key, a
  // ring without the version the records use.
  auto bad = adopt(s, make_ring({{1, 'x'}, {2, 'b'}}));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, "master_key_mismatch");
  auto missing = adopt(s, make_ring({{2, 'b'}}));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, "key_unavailable");
  EXPECT_FALSE(s.rekey_status().running);
  EXPECT_EQ(count(dir, "SELECT count(*) FROM meta WHERE name='rekey_target'"), 0);

  std::promise<Result<RekeyStatus>> finished;
  auto fut = finished.get_future();
  auto started = adopt(s, make_ring({{1, 'a'}, {2, 'b'}}), &finished);
  ASSERT_TRUE(started.ok()) << started.error().message;
  EXPECT_TRUE(started->running);
  EXPECT_EQ(started->from_version, 1U);
  EXPECT_EQ(started->to_version, 2U);
  EXPECT_EQ(started->total, 5U);
  ASSERT_EQ(fut.wait_for(std::chrono::seconds(20)), std::future_status::ready);
  auto done = fut.get();
  ASSERT_TRUE(done.ok());
  EXPECT_FALSE(done->running);
  EXPECT_EQ(done->done, 5U);
  EXPECT_EQ(s.rekey_status().to_version, 2U);
  ASSERT_TRUE(publish(s, doc("P9", "D9"), "after").ok());
  store->reset();

  // Key version 1 is no longer needed.
  auto reopened = open_store(dir, make_ring({{2, 'b'}}));
  ASSERT_TRUE(reopened.ok()) << reopened.error().message;
  for (const char* id : {"D0", "D4", "D9"}) EXPECT_TRUE(read_content(**reopened, id).ok()) << id;
}

}  // namespace
}  // namespace hiegate::daemon
