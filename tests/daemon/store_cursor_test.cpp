// A document's content read a window at a time (Store::document_cursor):
// the same bytes as a whole read, windows of whole chunks, and a document
// replaced, removed or damaged between windows reported, never mixed in.
#include <gtest/gtest.h>

#include "store_fixture.hpp"

namespace hiegate::daemon {
namespace {

using namespace testing;
using test::TempDir;

constexpr std::size_t kChunk = crypto::kStreamChunk;

Result<std::string> next(ContentCursor& c, std::size_t max_bytes) {
  return wait<std::string>([&](auto cb) { c.next(max_bytes, cb); });
}

class Cursor : public ::testing::Test {
protected:
  void SetUp() override {
    auto s = open_store(dir, keys);
    ASSERT_TRUE(s.ok());
    store = std::move(*s);
  }
  TempDir dir;
  std::shared_ptr<const crypto::KeyRing> keys = make_ring({{1, 'k'}});
  std::unique_ptr<Store> store;
};

TEST_F(Cursor, ReadsWholeChunksPerWindowAndEndsVerified) {
  const std::string content = pattern(5 * kChunk + 1234, 'x');
  ASSERT_TRUE(publish(*store, doc("P1", "D1"), content).ok());
  auto cursor = store->document_cursor("D1");
  std::string got;
  std::vector<std::size_t> windows;
  for (int i = 0; i < 10; ++i) {
    auto w = next(*cursor, 100 * 1024);
    ASSERT_TRUE(w.ok()) << w.error().message;
    if (w->empty()) break;
    windows.push_back(w->size());
    got += *w;
  }
  // 100 KiB asks for two chunks a window; the last holds what is left.
  EXPECT_EQ(windows, (std::vector<std::size_t>{2 * kChunk, 2 * kChunk, kChunk + 1234}));
  EXPECT_EQ(got, content);
  EXPECT_TRUE(cursor->ended());
  EXPECT_EQ(*next(*cursor, 100 * 1024), "");
}

TEST_F(Cursor, ADocumentThatFitsEndsInItsFirstWindow) {
  ASSERT_TRUE(publish(*store, doc("P1", "small"), "ten bytes!").ok());
  auto cursor = store->document_cursor("small");
  EXPECT_FALSE(cursor->ended());  // nothing is read before the first window
  EXPECT_EQ(*next(*cursor, kChunk), "ten bytes!");
  EXPECT_TRUE(cursor->ended());
}

TEST_F(Cursor, AnUnknownDocumentIsNotFound) {
  auto cursor = store->document_cursor("nope");
  EXPECT_EQ(next(*cursor, kChunk).error().code, "not_found");
}

TEST_F(Cursor, ADocumentReplacedBetweenWindowsIsReportedNotMixed) {
  ASSERT_TRUE(publish(*store, doc("P1", "D1"), pattern(3 * kChunk, 'a')).ok());
  auto cursor = store->document_cursor("D1");
  auto first = next(*cursor, kChunk);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(*first, pattern(3 * kChunk, 'a').substr(0, kChunk));
  // Same id, same size, other bytes: the next window must not serve them.
  ASSERT_TRUE(publish(*store, doc("P1", "D1"), pattern(3 * kChunk, 'b')).ok());
  auto second = next(*cursor, kChunk);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code, "content_changed");
  // A new cursor reads the new content whole.
  auto fresh = store->document_cursor("D1");
  auto all = next(*fresh, 4 * kChunk);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(*all, pattern(3 * kChunk, 'b'));
}

TEST_F(Cursor, ADocumentRemovedBetweenWindowsIsNotFound) {
  ASSERT_TRUE(publish(*store, doc("P1", "D1"), pattern(2 * kChunk + 5, 'a')).ok());
  auto cursor = store->document_cursor("D1");
  ASSERT_TRUE(next(*cursor, kChunk).ok());
  ASSERT_TRUE(wait<void>([&](auto cb) { store->remove_document("D1", cb); }).ok());
  EXPECT_EQ(next(*cursor, kChunk).error().code, "not_found");
}

class CursorTamper : public ::testing::Test {
protected:
  void SetUp() override {
    auto s = open_store(dir, keys);
    ASSERT_TRUE(s.ok());
    ASSERT_TRUE(publish(**s, doc("P1", "D1"), content).ok());
  }
  TempDir dir;
  std::shared_ptr<const crypto::KeyRing> keys = make_ring({{1, 'k'}});
  const std::string content = pattern(3 * kChunk + 7, 'q');
};

TEST_F(CursorTamper, ADamagedLaterChunkFailsItsWindowOnly) {
  flip(dir, "chunks", "data", "seq = 2", 5);
  auto s = open_store(dir, keys);
  ASSERT_TRUE(s.ok());
  auto cursor = (*s)->document_cursor("D1");
  auto first = next(*cursor, kChunk);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(*first, content.substr(0, kChunk));
  ASSERT_TRUE(next(*cursor, kChunk).ok());
  auto bad = next(*cursor, kChunk);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, "record_corrupt");
}

TEST_F(CursorTamper, DataAfterTheFinalChunkIsCorruption) {
  sql(dir, "INSERT INTO chunks SELECT owner, id_hash, 4, data FROM chunks WHERE seq = 3");
  auto s = open_store(dir, keys);
  ASSERT_TRUE(s.ok());
  auto cursor = (*s)->document_cursor("D1");
  auto all = next(*cursor, 2 * kChunk);
  ASSERT_TRUE(all.ok());
  auto rest = next(*cursor, 2 * kChunk);
  ASSERT_FALSE(rest.ok());
  EXPECT_EQ(rest.error().code, "record_corrupt");
  EXPECT_FALSE(cursor->ended());
}

TEST_F(CursorTamper, AMissingChunkIsCorruption) {
  sql(dir, "DELETE FROM chunks WHERE seq = 1");
  auto s = open_store(dir, keys);
  ASSERT_TRUE(s.ok());
  auto cursor = (*s)->document_cursor("D1");
  ASSERT_TRUE(next(*cursor, kChunk).ok());
  EXPECT_EQ(next(*cursor, kChunk).error().code, "record_corrupt");
}

}  // namespace
}  // namespace hiegate::daemon
