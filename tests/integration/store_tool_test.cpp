// hiegatectl's storage commands run as a facility administrator would run
// them: keygen, store check / status / rekey, backup and restore, against
// the state directory of a real hiegated.
#include <sys/stat.h>

#include <regex>

#include "integration/state_kit.hpp"

namespace hiegate::test {
namespace {

using namespace std::chrono_literals;
using state::ctl;

// A daemon with three published documents, then stopped.
class StoreTool : public ::testing::Test {
protected:
  void SetUp() override {
    gw.start();
    state::add_user(gw, "clerk-1", "clerk");
    for (int i = 1; i <= 3; ++i) {
      state::publish(gw, "doc-" + std::to_string(i), "PT-0000" + std::to_string(i), "紹介状 " + std::to_string(i));
    }
    ASSERT_EQ(gw.stop(), 0) << gw.log();
  }
  [[nodiscard]] std::filesystem::path db() const { return gw.dir() / "state" / "hiegate.db"; }
  Gateway gw;
};

TEST(Keygen, WritesA0400KeyAndNeverClobbers) {
  TempDir dir;
  const auto key = dir / "master-key";
  auto r = run({binary("hiegatectl").string(), "keygen", "--out", key.string()});
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("chown"), std::string::npos) << r.output;  // tells the admin what to do next
  struct stat st {};
  ASSERT_EQ(::stat(key.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0400U);
  const std::string first = read_file(key);
  EXPECT_EQ(first.size(), 32U);

  r = run({binary("hiegatectl").string(), "keygen", "--out", key.string()});
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("already exists"), std::string::npos) << r.output;
  EXPECT_EQ(read_file(key), first);

  // Two keys are never the same; a missing directory is a clear error.
  r = run({binary("hiegatectl").string(), "keygen", "--out", (dir / "second").string()});
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(read_file(dir / "second"), first);
  r = run({binary("hiegatectl").string(), "keygen", "--out", (dir / "no" / "such" / "key").string()});
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("cannot create"), std::string::npos) << r.output;
  r = run({binary("hiegatectl").string(), "keygen"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.output.find("usage"), std::string::npos);
}

TEST_F(StoreTool, CheckReportsTableAndRowNeverContents) {
  auto r = ctl(gw, {"store", "check"});
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("0 failed"), std::string::npos) << r.output;

  state::flip_byte(db(), "documents", "sealed", "1", 40);
  r = ctl(gw, {"store", "check"});
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("1 failed"), std::string::npos) << r.output;
  EXPECT_TRUE(std::regex_search(r.output, std::regex("documents [0-9a-f]{64} ")) ) << r.output;
  for (const char* secret : {"doc-1", "PT-00001", "紹介状"}) {
    EXPECT_EQ(r.output.find(secret), std::string::npos) << secret << " in:\n" << r.output;
  }

  // The daemon serves the others; the quarantined one is gone.
  gw.start();
  EXPECT_EQ(state::read_document(gw, "doc-1"), 404);
  EXPECT_EQ(state::read_document(gw, "doc-2"), 200);
  EXPECT_EQ(state::read_document(gw, "doc-3"), 200);
}

// The commands that change the state directly refuse while the daemon runs
// on it, and change nothing; the daemon keeps serving.
TEST_F(StoreTool, OfflineCommandsRefuseWhileTheDaemonRuns) {
  const auto backup = gw.dir() / "backup.hgb";
  ASSERT_EQ(ctl(gw, {"backup", "--to", backup.string()}).status, 0);
  gw.start();
  state::publish(gw, "doc-after", "PT-00009", "後から");  // a restore would take it away
  const std::vector<std::vector<std::string>> commands = {
      {"store", "check"}, {"store", "status"}, {"store", "rekey"}, {"restore", "--from", backup.string(), "--force"}};
  for (const auto& args : commands) {
    const auto r = ctl(gw, args);
    EXPECT_EQ(r.status, 1) << args[0] << " " << args[1] << ": " << r.output;
    EXPECT_NE(r.output.find("daemon_running"), std::string::npos) << r.output;
  }
  const auto apply = run({binary("hiegatectl").string(), "directives", "apply", backup.string(), "--offline",
                          "--state-dir", (gw.dir() / "state").string(), "--keyset", backup.string()});
  EXPECT_EQ(apply.status, 1) << apply.output;
  EXPECT_NE(apply.output.find("daemon_running"), std::string::npos) << apply.output;
  EXPECT_EQ(state::read_document(gw, "doc-after"), 200);
  EXPECT_EQ(state::read_document(gw, "doc-2"), 200);
}

TEST_F(StoreTool, RekeyToANewKeyThenTheOldKeyFileCanGo) {
  auto r = run({binary("hiegatectl").string(), "keygen", "--out", (gw.dir() / "master-key.2").string()});
  ASSERT_EQ(r.status, 0) << r.output;
  r = ctl(gw, {"store", "status"});
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("rekey from key version 1 to 2: 0 of"), std::string::npos) << r.output;

  r = ctl(gw, {"store", "rekey"});
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("done"), std::string::npos) << r.output;
  r = ctl(gw, {"store", "status"});
  EXPECT_NE(r.output.find("key version 2; no rekey pending"), std::string::npos) << r.output;
  r = ctl(gw, {"store", "rekey"});
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.output.find("nothing to do"), std::string::npos) << r.output;

  // Only key version 2 is needed now.
  std::filesystem::remove(gw.dir() / "master-key");
  r = ctl(gw, {"store", "check"});  // --key names the primary file; its .N siblings are found next to it
  EXPECT_EQ(r.status, 0) << r.output;
  gw.start();
  for (const char* id : {"doc-1", "doc-2", "doc-3"}) EXPECT_EQ(state::read_document(gw, id), 200) << gw.log();
}

nlohmann::json store_status(const Gateway& gw) {
  const auto r = gw.get("/v1/status");
  EXPECT_EQ(r.status, 200) << r.body;
  return nlohmann::json::parse(r.body, nullptr, false).value("store", nlohmann::json::object());
}

// A new key file adopted by the running daemon: it re-encrypts in the
// background while it serves and shows progress in its status; a daemon
// killed half-way through finishes at its next start.
TEST(Rekey, OnlineWhileServingAndResumedAfterAKill) {
  Gateway gw;
  gw.start();
  state::add_user(gw, "clerk-1", "clerk");
  constexpr int kDocs = 150;
  for (int i = 0; i < kDocs; ++i) state::publish(gw, "doc-" + std::to_string(i), "PT-" + std::to_string(i), "紹介状");
  EXPECT_EQ(store_status(gw)["key_version"], 1);
  EXPECT_EQ(store_status(gw)["rekey"]["running"], false);
  auto r = gw.call("POST", "/v1/store/rekey");
  EXPECT_EQ(r.status, 200) << r.body;  // nothing to do yet

  ASSERT_EQ(run({binary("hiegatectl").string(), "keygen", "--out", (gw.dir() / "master-key.2").string()}).status, 0);
  r = gw.call("POST", "/v1/store/rekey");
  ASSERT_EQ(r.status, 202) << r.body;
  const auto started = nlohmann::json::parse(r.body)["rekey"];
  EXPECT_EQ(started["running"], true);
  EXPECT_EQ(started["from_version"], 1);
  EXPECT_EQ(started["to_version"], 2);
  EXPECT_GE(started["total"].get<int>(), kDocs) << started;
  // Reads and writes are served whatever the progress.
  for (int i = 0; i < kDocs; i += 7) EXPECT_EQ(state::read_document(gw, "doc-" + std::to_string(i)), 200);
  state::publish(gw, "doc-during", "PT-during", "紹介状");
  ASSERT_TRUE(eventually([&] { return store_status(gw)["key_version"] == 2; }, 20s)) << store_status(gw);
  auto done = store_status(gw)["rekey"];
  EXPECT_EQ(done["running"], false);
  EXPECT_EQ(done["done"], done["total"]) << done;
  EXPECT_EQ(state::read_document(gw, "doc-during"), 200);
  EXPECT_TRUE(wait_for_line(gw.dir() / "hiegated.log", "rekey finished")) << gw.log();

  // A key file that does not match the store: refused, nothing changes.
  const std::string key2 = read_file(gw.dir() / "master-key.2");
  std::filesystem::remove(gw.dir() / "master-key.2");
  gw.dir().write("master-key.2", std::string(32, 'x'), 0400);
  r = gw.call("POST", "/v1/store/rekey");
  EXPECT_EQ(r.status, 409) << r.body;
  EXPECT_NE(r.body.find("master_key_mismatch"), std::string::npos) << r.body;
  EXPECT_EQ(store_status(gw)["key_version"], 2);
  std::filesystem::remove(gw.dir() / "master-key.2");
  gw.dir().write("master-key.2", key2, 0400);
  ASSERT_EQ(gw.stop(), 0);
  const auto trail = ctl(gw, {"audit", "export"});
  EXPECT_NE(trail.output.find(R"("type":"key_operation")"), std::string::npos) << trail.output;
  EXPECT_NE(trail.output.find("rekey from key version 1 to 2"), std::string::npos) << trail.output;
  // The same trail as RFC 5424 messages (octet-counted), and a format that does not exist.
  const auto syslog = ctl(gw, {"audit", "export", "--format", "syslog"});
  EXPECT_EQ(syslog.status, 0) << syslog.output;
  EXPECT_NE(syslog.output.find(" hiegate - key_operation [hiegateAudit@32473 seq="), std::string::npos) << syslog.output;
  EXPECT_EQ(ctl(gw, {"audit", "export", "--format", "xml"}).status, 2);

  // Version 3 at a start, killed at once: wherever the rekey got to, the
  // next start finishes it.
  ASSERT_EQ(run({binary("hiegatectl").string(), "keygen", "--out", (gw.dir() / "master-key.3").string()}).status, 0);
  gw.start();
  gw.process().signal(SIGKILL);
  ASSERT_TRUE(gw.process().wait(10s));
  gw.start();
  EXPECT_EQ(store_status(gw)["rekey"]["to_version"], 3) << store_status(gw);
  ASSERT_TRUE(eventually([&] { return store_status(gw)["key_version"] == 3; }, 20s)) << store_status(gw);
  for (int i = 0; i < kDocs; i += 7) EXPECT_EQ(state::read_document(gw, "doc-" + std::to_string(i)), 200);
  ASSERT_EQ(gw.stop(), 0);

  // The store needs key version 3 only.
  for (const char* old : {"master-key", "master-key.2"}) std::filesystem::remove(gw.dir() / old);
  const auto check = ctl(gw, {"store", "check"});
  EXPECT_EQ(check.status, 0) << check.output;
  EXPECT_NE(check.output.find("0 failed"), std::string::npos) << check.output;
}

// Keys are re-read at a reload too: a new version next to the key file
// starts the rekey; key files the store refuses are logged and the keys in
// force stay.
TEST(Rekey, ASighupAdoptsANewKeyVersionAndRefusesAWrongOne) {
  Gateway gw;
  gw.start();
  state::add_user(gw, "clerk-1", "clerk");
  for (int i = 0; i < 5; ++i) state::publish(gw, "doc-" + std::to_string(i), "PT-" + std::to_string(i), "紹介状");
  gw.process().signal(SIGHUP);  // the same keys: nothing to do
  ASSERT_TRUE(wait_for_line(gw.dir() / "hiegated.log", "config_reloaded"));
  EXPECT_EQ(gw.log().find("rekey started"), std::string::npos) << gw.log();

  ASSERT_EQ(run({binary("hiegatectl").string(), "keygen", "--out", (gw.dir() / "master-key.2").string()}).status, 0);
  gw.process().signal(SIGHUP);
  ASSERT_TRUE(eventually([&] { return store_status(gw)["key_version"] == 2; }, 20s)) << store_status(gw);
  EXPECT_NE(gw.log().find("rekey started"), std::string::npos) << gw.log();
  for (int i = 0; i < 5; ++i) EXPECT_EQ(state::read_document(gw, "doc-" + std::to_string(i)), 200);

  std::filesystem::remove(gw.dir() / "master-key.2");
  gw.dir().write("master-key.2", std::string(32, 'x'), 0400);
  gw.process().signal(SIGHUP);
  ASSERT_TRUE(wait_for_line(gw.dir() / "hiegated.log", "keys_not_reloaded"));
  EXPECT_NE(gw.log().find("master_key_mismatch"), std::string::npos) << gw.log();
  EXPECT_EQ(store_status(gw)["key_version"], 2);
  EXPECT_EQ(state::read_document(gw, "doc-3"), 200);
  EXPECT_TRUE(gw.process().running());
}

TEST_F(StoreTool, BackupRestoreRoundTrip) {
  gw.start();
  const auto backup = gw.dir() / "backup.db";
  auto r = ctl(gw, {"backup", "--to", backup.string()});  // online
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_TRUE(std::filesystem::exists(backup.string() + ".manifest"));
  r = ctl(gw, {"backup", "--to", backup.string()});
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("already exists"), std::string::npos) << r.output;
  state::publish(gw, "doc-after", "PT-00009", "後から");
  state::add_user(gw, "clerk-2", "clerk");
  ASSERT_EQ(gw.stop(), 0);

  // Live state is never replaced without --force.
  // (The refusal itself is recorded in the audit trail.)
  const auto before = state::store_snapshot(gw.dir() / "state");
  r = ctl(gw, {"restore", "--from", backup.string()});
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("--force"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("audit record"), std::string::npos) << r.output;
  EXPECT_EQ(state::store_snapshot(gw.dir() / "state"), before);

  r = ctl(gw, {"restore", "--from", backup.string(), "--force"});
  ASSERT_EQ(r.status, 0) << r.output;
  gw.start();
  for (const char* id : {"doc-1", "doc-2", "doc-3"}) EXPECT_EQ(state::read_document(gw, id), 200);
  EXPECT_EQ(state::read_document(gw, "doc-after"), 404);
}

TEST_F(StoreTool, RestoreRefusesCorruptAndForeignBackups) {
  const auto backup = gw.dir() / "backup.db";
  ASSERT_EQ(ctl(gw, {"backup", "--to", backup.string()}).status, 0);
  const auto before = state::store_snapshot(gw.dir() / "state");

  // One byte changed: the manifest's checksum no longer matches.
  const auto bad = gw.dir() / "corrupt.db";
  std::filesystem::copy_file(backup, bad);
  std::filesystem::copy_file(backup.string() + ".manifest", bad.string() + ".manifest");
  state::flip_byte(bad, "documents", "sealed", "1", 40);
  auto r = ctl(gw, {"restore", "--from", bad.string(), "--force"});
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("backup_corrupt"), std::string::npos) << r.output;

  // Another facility's backup (another master key).
  Gateway other;
  other.start();
  state::add_user(other, "clerk-1", "clerk");
  state::publish(other, "their-doc", "PT-77777", "他院");
  const auto theirs = other.dir() / "theirs.db";
  ASSERT_EQ(ctl(other, {"backup", "--to", theirs.string()}).status, 0);
  r = ctl(gw, {"restore", "--from", theirs.string(), "--force"});
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("backup_foreign"), std::string::npos) << r.output;

  // A backup without its manifest is refused too.
  r = ctl(gw, {"restore", "--from", (gw.dir() / "state" / "hiegate.db").string(), "--force"});
  EXPECT_NE(r.status, 0);
  EXPECT_EQ(state::store_snapshot(gw.dir() / "state"), before);
}

}  // namespace
}  // namespace hiegate::test
