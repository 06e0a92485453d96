// The encrypted state as a stolen disk would show it: no names or ids in any
// file a running hiegated wrote (UTF-8 or Shift_JIS), and a daemon that
// refuses a missing, short, exposed or wrong master key without touching the
// store.
#include <sys/stat.h>
#include <unistd.h>

#include "integration/state_kit.hpp"

namespace hiegate::test {
namespace {

using namespace std::chrono_literals;

struct Secret {
  std::string utf8;
  std::string shift_jis;  // `iconv -t SHIFT_JIS`; empty when it is ASCII
};

const std::vector<Secret> kSecrets = {
    {"山田太郎", "\x8e\x52\x93\x63\x91\xbe\x98\x59"},
    {"ヤマダタロウ", "\x83\x84\x83\x7d\x83\x5f\x83\x5e\x83\x8d\x83\x45"},
    {"佐藤花子", "\x8d\xb2\x93\xa1\x89\xd4\x8e\x71"},
    {"診療情報提供書", "\x90\x66\x97\xc3\x8f\xee\x95\xf1\x92\xf1\x8b\x9f\x8f\x91"},
    {"糖尿病", "\x93\x9c\x94\x41\x95\x61"},
    {"東京都千代田区", "\x93\x8c\x8b\x9e\x93\x73\x90\xe7\x91\xe3\x93\x63\x8b\xe6"},
    {"内科部長", "\x93\xe0\x89\xc8\x95\x94\x92\xb7"},
    {"PT-88213-QX", ""},
    {"PT-55104-KR", ""},
    {"DOC-7fa9c1-ZZ", ""},
    {"usr-nurse-4471q", ""},
    {"FORM-ZQ-5521", ""},
    {"1962-04-17", ""},
};

std::vector<std::string> files_containing(const std::map<std::string, std::string>& files, const std::string& needle) {
  std::vector<std::string> hits;
  for (const auto& [path, content] : files) {
    if (content.find(needle) != std::string::npos) hits.push_back(path);
  }
  return hits;
}

TEST(StateAtRest, NoNamesOrIdsInAnyFileTheDaemonWrote) {
  Gateway gw;
  gw.start();
  state::add_user(gw, "clerk-1", "clerk");
  state::add_user(gw, "usr-nurse-4471q", "nurse", "内科部長 山田太郎");
  const std::string fhir = R"({"resourceType":"Patient","name":[{"text":"山田太郎"},{"text":"ヤマダタロウ"}],)"
                           R"("birthDate":"1962-04-17","address":[{"text":"東京都千代田区"}],)"
                           R"("condition":"糖尿病"})";
  state::publish(gw, "DOC-7fa9c1-ZZ", "PT-88213-QX", "診療情報提供書 山田太郎 様", fhir);
  state::publish(gw, "doc-2", "PT-55104-KR", "佐藤花子 様 退院時サマリー");
  const auto c = gw.call("PUT", "/v1/consents/PT-88213-QX", {{"X-HIE-User", "clerk-1"}},
                         R"({"signed_on":"2025-04-01","scope":"*","form_ref":"FORM-ZQ-5521"})");
  ASSERT_EQ(c.status, 200) << c.body;
  // Reads are audited: the audit trail must not name them either.
  EXPECT_EQ(state::read_document(gw, "DOC-7fa9c1-ZZ"), 200);
  EXPECT_EQ(gw.call("GET", "/v1/patients/PT-88213-QX/documents", {{"X-HIE-User", "usr-nurse-4471q"},
                                                                     {"X-HIE-Purpose", "treatment"}})
                .status,
            200);
  std::filesystem::create_directories(gw.dir() / "state" / "backups");
  const auto b = state::ctl(gw, {"backup", "--to", (gw.dir() / "state" / "backups" / "b.db").string()});
  ASSERT_EQ(b.status, 0) << b.output;
  ASSERT_EQ(gw.stop(), 0) << gw.log();

  const auto files = state::snapshot(gw.dir() / "state");
  std::set<std::string> names;
  for (const auto& [p, _] : files) names.insert(std::filesystem::path(p).filename().string());
  for (const char* f : {"hiegate.db", "audit.db", "b.db", "b.db.manifest"}) EXPECT_EQ(names.count(f), 1U) << f;
  ASSERT_FALSE(files_containing(files, "content_header").empty());  // the search sees clear text (the schema)
  for (const auto& s : kSecrets) {
    EXPECT_TRUE(files_containing(files, s.utf8).empty()) << "UTF-8 '" << s.utf8 << "' found";
    if (!s.shift_jis.empty()) {
      EXPECT_TRUE(files_containing(files, s.shift_jis).empty()) << "Shift_JIS of '" << s.utf8 << "' found";
    }
  }
  // Nor in what it logged.
  const std::string log = read_file(gw.dir() / "hiegated.log");
  for (const auto& s : kSecrets) EXPECT_EQ(log.find(s.utf8), std::string::npos) << s.utf8 << " logged";
}

// A stopped daemon with one document; each refusal must leave it unchanged.
class MasterKey : public ::testing::Test {
protected:
  void SetUp() override {
    gw.start();
    state::add_user(gw, "clerk-1", "clerk");
    state::publish(gw, "doc-1", "PT-00001", "紹介状");
    ASSERT_EQ(gw.stop(), 0) << gw.log();
    key = read_file(gw.dir() / "master-key");
    before = state::snapshot(gw.dir() / "state");
  }

  /// Starts hiegated expecting a refusal; returns what it printed.
  std::string refused() {
    std::vector<std::string> argv = {binary("hiegated").string(), "--config", gw.config_path().string()};
    if (::geteuid() == 0) argv.emplace_back("--allow-root");
    const auto r = run(argv, {}, 20s);
    EXPECT_EQ(r.status, 1) << r.output;
    EXPECT_EQ(state::snapshot(gw.dir() / "state"), before) << "the store changed";
    return r.output;
  }

  void replace_key(const std::string& bytes, unsigned mode) {
    const auto p = gw.dir() / "master-key";
    std::filesystem::remove(p);
    gw.dir().write("master-key", bytes, mode);
    ::chmod(p.c_str(), mode);  // whatever the umask did
  }

  Gateway gw;
  std::string key;
  std::map<std::string, std::string> before;
};

TEST_F(MasterKey, MissingRefusesAndSaysHowToMakeOne) {
  std::filesystem::remove(gw.dir() / "master-key");
  const auto out = refused();
  EXPECT_NE(out.find("does not exist"), std::string::npos) << out;
  EXPECT_NE(out.find("hiegatectl keygen --out"), std::string::npos) << out;
}

TEST_F(MasterKey, ShortRefusesWithTheRequiredLength) {
  replace_key(key.substr(0, 31), 0400);
  const auto out = refused();
  EXPECT_NE(out.find("is 31 bytes; it must be exactly 32 bytes"), std::string::npos) << out;
}

TEST_F(MasterKey, WorldReadableRefusesAndSaysChmod) {
  replace_key(key, 0644);
  auto out = refused();
  EXPECT_NE(out.find("has mode 0644"), std::string::npos) << out;
  EXPECT_NE(out.find("chmod 0400"), std::string::npos) << out;
  replace_key(key, 0440);  // group-readable is no better
  out = refused();
  EXPECT_NE(out.find("has mode 0440"), std::string::npos) << out;
}

TEST_F(MasterKey, WrongOwnerRefusesAndSaysChown) {
  if (::geteuid() != 0) GTEST_SKIP() << "changing a file's owner needs root";
  ASSERT_EQ(::chown((gw.dir() / "master-key").c_str(), 65534, 65534), 0);
  const auto out = refused();
  EXPECT_NE(out.find("not the service user"), std::string::npos) << out;
  EXPECT_NE(out.find("chown"), std::string::npos) << out;
}

TEST_F(MasterKey, WrongKeyOnAnExistingStoreRefusesAndChangesNothing) {
  std::string other = key;
  other[0] = static_cast<char>(other[0] ^ 0x5a);
  replace_key(other, 0400);
  const auto out = refused();
  EXPECT_NE(out.find("does not match this store"), std::string::npos) << out;
  EXPECT_NE(out.find("supply the store's key"), std::string::npos) << out;

  // The right key again: the store opens as before.
  replace_key(key, 0400);
  gw.start();
  EXPECT_EQ(state::read_document(gw, "doc-1"), 200) << gw.log();
}

}  // namespace
}  // namespace hiegate::test
