#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "hiegate/daemon/backup.hpp"
#include "store_fixture.hpp"

namespace hiegate::daemon {
namespace {

using namespace testing;
using test::TempDir;

class Backup : public ::testing::Test {
protected:
  void SetUp() override {
    auto store = open_store(dir, keys);
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE(publish(**store, doc("P1", "D1", R"({"t":1})"), "first").ok());
    ASSERT_TRUE(put_record(**store, RecordTable::consents, {"C1", "P1", "yes"}).ok());
    // Taken while the store is open and serving.
    auto m = backup_store(dir / "state", *keys, backup, 1700000000);
    ASSERT_TRUE(m.ok()) << m.error().message;
    EXPECT_EQ(m->fingerprints.at(1), keys->fingerprint(1));
    EXPECT_EQ(m->schema_version, kStoreSchemaVersion);
    ASSERT_TRUE(publish(**store, doc("P1", "D2"), "after the backup").ok());
  }
  TempDir dir;
  std::shared_ptr<const crypto::KeyRing> keys = make_ring({{1, 'k'}});
  std::filesystem::path backup = dir / "backup.db";
};

TEST_F(Backup, RoundTripAndNoClobber) {
  const auto target = dir / "restored";
  ASSERT_TRUE(restore_store(target, *keys, backup, false).ok());
  {
    StoreOptions opt;
    opt.dir = target;
    auto store = Store::open(opt, keys);
    ASSERT_TRUE(store.ok()) << store.error().message;
    EXPECT_EQ(*read_content(**store, "D1"), "first");
    EXPECT_EQ(get_record(**store, RecordTable::consents, "C1")->value, "yes");
    EXPECT_EQ(get_document(**store, "D2").error().code, "not_found");  // written after the snapshot
  }
  // The live store is never overwritten without --force.
  auto again = restore_store(dir / "state", *keys, backup, false);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, "live_state_exists");
  {
    auto store = open_store(dir, keys);
    ASSERT_TRUE(store.ok());
    EXPECT_TRUE(get_document(**store, "D2").ok());
  }
  ASSERT_TRUE(restore_store(dir / "state", *keys, backup, true).ok());
  auto store = open_store(dir, keys);
  ASSERT_TRUE(store.ok());
  EXPECT_EQ(get_document(**store, "D2").error().code, "not_found");
  EXPECT_TRUE(get_document(**store, "D1").ok());
  // A backup never replaces an existing file.
  EXPECT_EQ(backup_store(dir / "state", *keys, backup, 0).error().code, "file_exists");
}

// A restore that cannot install the restored file leaves the live store as it
// was: its WAL (the commits since the last checkpoint) is put back, and no
// staged copy stays behind.
TEST_F(Backup, AFailedInstallKeepsTheLiveStoresWal) {
  const auto state = dir / "state-2";
  std::filesystem::create_directories(state / kStoreFileName);  // cannot be replaced by a file
  dir.write(std::string("state-2/") + kStoreFileName + "/x", "x");
  const auto wal = dir.write(std::string("state-2/") + kStoreFileName + "-wal", "the live store's last commits");
  auto r = restore_store(state, *keys, backup, true);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "io_error");
  EXPECT_EQ(test::read_file(wal), "the live store's last commits");
  EXPECT_FALSE(std::filesystem::exists(state / (std::string(kStoreFileName) + ".restore")));
  EXPECT_FALSE(std::filesystem::exists(state / (std::string(kStoreFileName) + "-wal.replaced")));
}

TEST_F(Backup, CorruptBackupRefused) {
  std::string bytes = test::read_file(backup);
  bytes[bytes.size() / 2] ^= 0x20;
  const auto bad = dir.write("bad.db", bytes);
  std::filesystem::copy_file(manifest_path(backup), manifest_path(bad));
  auto r = restore_store(dir / "fresh", *keys, bad, false);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "backup_corrupt");
  EXPECT_FALSE(std::filesystem::exists(dir / "fresh" / kStoreFileName));
  // Missing or garbled manifest.
  const auto lone = dir.write("lone.db", test::read_file(backup));
  EXPECT_EQ(restore_store(dir / "fresh", *keys, lone, false).error().code, "backup_invalid");
  dir.write("lone.db.manifest", "{not json");
  EXPECT_EQ(restore_store(dir / "fresh", *keys, lone, false).error().code, "backup_invalid");
}

TEST_F(Backup, ForeignBackupRefusedEvenWithForgedManifest) {
  const auto other_keys = make_ring({{1, 'o'}});
  TempDir other;
  {
    auto store = open_store(other, other_keys);
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE(publish(**store, doc("X", "Y"), "z").ok());
  }
  const auto foreign = dir / "foreign.db";
  ASSERT_TRUE(backup_store(other / "state", *other_keys, foreign, 0).ok());
  auto r = restore_store(dir / "fresh", *keys, foreign, false);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "backup_foreign");
  // Claim our fingerprint in the manifest: the key check values still differ.
  auto j = nlohmann::json::parse(test::read_file(manifest_path(foreign)));
  j["key_fingerprints"]["1"] = keys->fingerprint(1);
  std::filesystem::remove(manifest_path(foreign));
  dir.write("foreign.db.manifest", j.dump());
  auto forged = restore_store(dir / "fresh", *keys, foreign, false);
  ASSERT_FALSE(forged.ok());
  EXPECT_EQ(forged.error().code, "backup_foreign");
  EXPECT_FALSE(std::filesystem::exists(dir / "fresh" / kStoreFileName));
}

}  // namespace
}  // namespace hiegate::daemon
