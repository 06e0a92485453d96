// A published document's content written a window at a time
// (Store::begin_publish): staged apart until the commit, the same document
// as a whole publish afterwards, and nothing left behind by an upload that
// is dropped, fails or is cut by a crash.
#include <gtest/gtest.h>

#include "store_fixture.hpp"

namespace hiegate::daemon {
namespace {

using namespace testing;
using test::TempDir;

constexpr std::size_t kChunk = crypto::kStreamChunk;

Status write(ContentUpload& u, std::string bytes) {
  return wait<void>([&](auto cb) { u.write(std::move(bytes), cb); });
}
Status commit(ContentUpload& u, DocumentRecord d) {
  return wait<void>([&](auto cb) { u.commit(std::move(d), cb); });
}

class Upload : public ::testing::Test {
protected:
  void SetUp() override { reopen(); }
  void reopen(StoreOptions opt = {}) {
    store.reset();
    auto s = open_store(dir, keys, std::move(opt));
    ASSERT_TRUE(s.ok()) << s.error().message;
    store = std::move(*s);
  }
  // Writes `content` in pieces of the given sizes (the last repeated).
  void write_in(ContentUpload& u, const std::string& content, std::vector<std::size_t> sizes) {
    std::size_t at = 0;
    for (std::size_t i = 0; at < content.size(); ++i) {
      const std::size_t n = std::min(sizes[std::min(i, sizes.size() - 1)], content.size() - at);
      ASSERT_TRUE(write(u, content.substr(at, n)).ok());
      at += n;
    }
  }
  std::int64_t staged() const { return count(dir, "SELECT count(*) FROM chunks WHERE owner = 'staged'"); }
  // A write job queued after everything before it: the writer has run those.
  void settle() { ASSERT_TRUE(put_record(*store, RecordTable::users, {"u", "", "v"}).ok()); }

  TempDir dir;
  std::shared_ptr<const crypto::KeyRing> keys = make_ring({{1, 'k'}});
  std::unique_ptr<Store> store;
};

TEST_F(Upload, PiecesOfAnySizeMakeTheSameDocumentAsAWholePublish) {
  const std::string content = pattern(4 * kChunk + 777, 'u');
  auto up = store->begin_publish("D1");
  write_in(*up, content, {1, kChunk - 1, kChunk, 3 * kChunk + 5, 7});
  EXPECT_EQ(up->size(), content.size());
  ASSERT_TRUE(commit(*up, doc("P1", "D1", R"({"title":"scan"})")).ok());
  auto d = get_document(*store, "D1");
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(d->patient_id, "P1");
  EXPECT_EQ(d->metadata_json, R"({"title":"scan"})");
  EXPECT_EQ(d->content_size, content.size());
  EXPECT_EQ(*read_content(*store, "D1"), content);
  EXPECT_EQ(count(dir, "SELECT count(*) FROM chunks WHERE owner = 'documents'"), 5);
  EXPECT_EQ(staged(), 0);
  auto report = check(*store);
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->failures.empty());
  // And it reopens as any document does (the upload goes first: it must
  // not outlive its store).
  up.reset();
  reopen();
  EXPECT_EQ(*read_content(*store, "D1"), content);
}

TEST_F(Upload, AnExactNumberOfChunksEndsWithAFullFinalChunk) {
  const std::string content = pattern(2 * kChunk, 'e');
  auto up = store->begin_publish("D2");
  write_in(*up, content, {kChunk});
  ASSERT_TRUE(commit(*up, doc("P1", "D2")).ok());
  EXPECT_EQ(*read_content(*store, "D2"), content);
  EXPECT_EQ(count(dir, "SELECT count(*) FROM chunks WHERE owner = 'documents'"), 2);
}

TEST_F(Upload, NothingIsVisibleBeforeTheCommitAndTheEarlierVersionServesMeanwhile) {
  ASSERT_TRUE(publish(*store, doc("P1", "D1"), "the first version").ok());
  auto up = store->begin_publish("D1");
  write_in(*up, pattern(3 * kChunk, 'n'), {kChunk / 2});
  EXPECT_GT(staged(), 0);
  EXPECT_EQ(*read_content(*store, "D1"), "the first version");
  EXPECT_EQ(get_document(*store, "D1")->content_size, 17U);
  ASSERT_TRUE(commit(*up, doc("P1", "D1")).ok());
  EXPECT_EQ(*read_content(*store, "D1"), pattern(3 * kChunk, 'n'));
  EXPECT_EQ(staged(), 0);
}

TEST_F(Upload, ADroppedUploadLeavesNothing) {
  ASSERT_TRUE(publish(*store, doc("P1", "D1"), "kept").ok());
  {
    auto up = store->begin_publish("D1");
    write_in(*up, pattern(2 * kChunk + 9, 'd'), {kChunk});
    EXPECT_GT(staged(), 0);
  }
  settle();
  EXPECT_EQ(staged(), 0);
  EXPECT_EQ(*read_content(*store, "D1"), "kept");
  auto other = store->begin_publish("D9");
  other.reset();  // never written: nothing to remove
  EXPECT_EQ(get_document(*store, "D9").error().code, "not_found");
}

TEST_F(Upload, StagedChunksLeftByACrashAreRemovedAtOpen) {
  auto up = store->begin_publish("D1");
  write_in(*up, pattern(3 * kChunk, 'c'), {kChunk});
  // The process dies here: its staged rows stay in the file.
  sql(dir, "CREATE TABLE keep AS SELECT * FROM chunks WHERE owner = 'staged'");
  up.reset();
  settle();
  sql(dir, "INSERT INTO chunks(owner, id_hash, seq, data) SELECT owner, id_hash, seq, data FROM keep");
  EXPECT_GT(staged(), 0);
  reopen();
  EXPECT_EQ(staged(), 0);
  EXPECT_EQ(get_document(*store, "D1").error().code, "not_found");
}

TEST_F(Upload, AnEmptyUploadAndASecondCommitAreRefused) {
  auto empty = store->begin_publish("D1");
  EXPECT_EQ(commit(*empty, doc("P1", "D1")).error().code, "invalid_argument");
  auto up = store->begin_publish("D2");
  ASSERT_TRUE(write(*up, "content").ok());
  EXPECT_EQ(commit(*up, doc("P1", "other-id")).error().code, "invalid_argument");
  // The refusal spoiled it: this upload cannot be committed any more.
  EXPECT_EQ(commit(*up, doc("P1", "D2")).error().code, "invalid_argument");
  up.reset();
  auto ok = store->begin_publish("D3");
  ASSERT_TRUE(write(*ok, "content").ok());
  ASSERT_TRUE(commit(*ok, doc("P1", "D3")).ok());
  EXPECT_EQ(write(*ok, "more").error().code, "invalid_argument");
  EXPECT_EQ(commit(*ok, doc("P1", "D3")).error().code, "invalid_argument");
  EXPECT_EQ(*read_content(*store, "D3"), "content");
  settle();
  EXPECT_EQ(staged(), 0);
}

TEST_F(Upload, AFullDiskSpoilsTheUploadAndChangesNothing) {
  ASSERT_TRUE(publish(*store, doc("P1", "D1"), "kept").ok());
  StoreOptions opt;
  opt.max_page_count = count(dir, "PRAGMA page_count") + 40;  // about 160 KiB more
  reopen(std::move(opt));
  auto up = store->begin_publish("D1");
  Status failed;
  for (int i = 0; i < 20 && failed; ++i) failed = write(*up, pattern(kChunk, static_cast<char>('a' + i)));
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code, "store_full");
  EXPECT_EQ(write(*up, "x").error().code, "store_full");
  EXPECT_EQ(commit(*up, doc("P1", "D1")).error().code, "store_full");
  up.reset();
  settle();
  EXPECT_EQ(staged(), 0);
  EXPECT_EQ(*read_content(*store, "D1"), "kept");
}

TEST_F(Upload, KeysRotatedDuringTheUploadSealItUnderTheNewVersion) {
  auto up = store->begin_publish("D1");
  const std::string content = pattern(2 * kChunk + 3, 'r');
  write_in(*up, content.substr(0, kChunk), {kChunk});
  auto started = wait<RekeyStatus>(
      [&](auto cb) { store->adopt_keys(make_ring({{1, 'k'}, {2, 'm'}}), cb, [](Result<RekeyStatus>) {}); });
  ASSERT_TRUE(started.ok()) << started.error().message;
  write_in(*up, content.substr(kChunk), {kChunk});
  ASSERT_TRUE(commit(*up, doc("P1", "D1")).ok());
  EXPECT_EQ(count(dir, "SELECT key_version FROM documents"), 2);
  EXPECT_EQ(*read_content(*store, "D1"), content);
  auto report = check(*store);
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->failures.empty());
}

}  // namespace
}  // namespace hiegate::daemon
