// No identifier or patient detail reaches any file under the state directory,
// in UTF-8 or in Shift_JIS.
#include <gtest/gtest.h>
#include <iconv.h>

#include "hiegate/daemon/backup.hpp"
#include "store_fixture.hpp"

namespace hiegate::daemon {
namespace {

using namespace testing;
using test::TempDir;

std::string to_shift_jis(const std::string& utf8) {
  iconv_t cd = iconv_open("SHIFT_JIS", "UTF-8");
  if (cd == reinterpret_cast<iconv_t>(-1)) throw std::runtime_error("iconv_open SHIFT_JIS");
  std::string in = utf8;
  std::string out(in.size() * 2 + 8, '\0');
  char* ip = in.data();
  char* op = out.data();
  std::size_t il = in.size(), ol = out.size();
  const std::size_t rc = iconv(cd, &ip, &il, &op, &ol);
  iconv_close(cd);
  if (rc == static_cast<std::size_t>(-1)) throw std::runtime_error("iconv");
  out.resize(out.size() - ol);
  return out;
}

const std::vector<std::string> kSecrets = {
    "山田太郎", "ヤマダタロウ", "佐藤花子", "東京都千代田区", "糖尿病",  // names, address, diagnosis
    "PT-88213-QX",  "DOC-7fa9c1-ZZ", "USR-nurse-4471", "Hanako Sato", "1962-04-17",
};

// Every file under `root` (db, -wal, -shm, backups) that contains `needle`.
std::vector<std::string> files_containing(const std::filesystem::path& root, const std::string& needle) {
  std::vector<std::string> hits;
  for (const auto& e : std::filesystem::recursive_directory_iterator(root)) {
    if (!e.is_regular_file()) continue;
    if (test::read_file(e.path()).find(needle) != std::string::npos) hits.push_back(e.path().string());
  }
  return hits;
}

void expect_no_secrets(const std::filesystem::path& root, std::size_t min_files) {
  std::size_t files = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(root)) files += e.is_regular_file();
  ASSERT_GE(files, min_files);
  ASSERT_FALSE(files_containing(root, "content_header").empty());  // the search does see clear text (schema)
  for (const auto& s : kSecrets) {
    EXPECT_TRUE(files_containing(root, s).empty()) << "UTF-8 '" << s << "' found";
    const std::string sjis = to_shift_jis(s);
    EXPECT_TRUE(files_containing(root, sjis).empty()) << "Shift_JIS of '" << s << "' found";
  }
}

TEST(StoreLeak, NothingIdentifyingOnDisk) {
  ASSERT_NE(to_shift_jis("山田太郎"), "山田太郎");  // the encoder really converts
  TempDir dir;
  auto store = open_store(dir, make_ring({{1, 'k'}}));
  ASSERT_TRUE(store.ok());
  Store& s = **store;
  const std::string meta = R"({"name":"山田太郎","kana":"ヤマダタロウ","born":"1962-04-17",)"
                           R"("address":"東京都千代田区","diagnosis":"糖尿病"})";
  ASSERT_TRUE(publish(s, doc("PT-88213-QX", "DOC-7fa9c1-ZZ", meta), "診療情報提供書 山田太郎 様 " + to_shift_jis("山田太郎")).ok());
  ASSERT_TRUE(publish(s, doc("PT-88213-QX", "DOC-2", R"({"name":"Hanako Sato 佐藤花子"})"), "x").ok());
  ASSERT_TRUE(put_record(s, RecordTable::consents, {"consent-1", "PT-88213-QX", "佐藤花子 opt-in"}).ok());
  ASSERT_TRUE(put_record(s, RecordTable::users, {"USR-nurse-4471", "", "山田太郎"}).ok());
  ASSERT_TRUE(put_record(s, RecordTable::audit, {"1", "PT-88213-QX", "read DOC-7fa9c1-ZZ"}).ok());
  ASSERT_TRUE(wait<void>([&](auto cb) {
                s.cache_put({"F9", "DOC-7fa9c1-ZZ", meta, 0, 0}, source_of("佐藤花子"), 100, cb);
              }).ok());
  // While open: the WAL holds the recent pages.
  expect_no_secrets(dir.path(), 2);
  ASSERT_TRUE(get_document(s, "DOC-7fa9c1-ZZ").ok());
  std::filesystem::create_directory(dir / "state" / "backups");
  ASSERT_TRUE(backup_store(dir / "state", *make_ring({{1, 'k'}}), dir / "state" / "backups" / "b.db", 0).ok());
  store->reset();
  ASSERT_TRUE(std::filesystem::exists(dir / "state" / "backups" / "b.db.manifest"));
  expect_no_secrets(dir.path(), 1);
}

}  // namespace
}  // namespace hiegate::daemon
