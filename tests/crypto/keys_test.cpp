#include "hiegate/crypto/keys.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>

#include "support/temp_dir.hpp"

namespace hiegate::crypto {
namespace {

using test::TempDir;

std::string key_bytes(char fill) { return std::string(kMasterKeySize, fill); }

TEST(KeyRing, LoadsOwnerOnlyKeyAndDerivesDistinctSubkeys) {
  TempDir dir;
  const auto f = dir.write("master-key", key_bytes('a'), 0400);
  auto ring = KeyRing::load_file(f, true);
  ASSERT_TRUE(ring.ok()) << ring.error().message;
  EXPECT_EQ(ring->active_version(), 1u);
  const auto c = ring->subkey(1, KeyPurpose::content);
  const auto i = ring->subkey(1, KeyPurpose::identifier);
  const auto a = ring->subkey(1, KeyPurpose::audit);
  EXPECT_FALSE(std::equal(c.begin(), c.end(), i.begin()));
  EXPECT_FALSE(std::equal(c.begin(), c.end(), a.begin()));
  EXPECT_EQ(ring->fingerprint(1).size(), 32u);
  // 0600 is accepted too.
  const auto g = dir.write("other", key_bytes('a'), 0600);
  auto ring2 = KeyRing::load_file(g, true);
  ASSERT_TRUE(ring2.ok());
  EXPECT_EQ(ring2->check_value(1), ring->check_value(1));
}

TEST(KeyRing, RefusesWorldReadableWithChmodHint) {
  TempDir dir;
  const auto f = dir.write("master-key", key_bytes('a'), 0644);
  auto ring = KeyRing::load_file(f, true);
  ASSERT_FALSE(ring.ok());
  EXPECT_EQ(ring.error().code, "master_key_invalid");
  EXPECT_NE(ring.error().message.find("chmod 0400 " + f.string()), std::string::npos) << ring.error().message;
}

TEST(KeyRing, RefusesShortKeyWithKeygenHint) {
  TempDir dir;
  const auto f = dir.write("master-key", std::string(31, 'a'), 0400);
  auto ring = KeyRing::load_file(f, true);
  ASSERT_FALSE(ring.ok());
  EXPECT_NE(ring.error().message.find("exactly 32 bytes"), std::string::npos);
  EXPECT_NE(ring.error().message.find("hiegatectl keygen --out"), std::string::npos);
}

TEST(KeyRing, RefusesMissingFileAndSymlinkAndDirectory) {
  TempDir dir;
  auto missing = KeyRing::load_file(dir / "master-key", true);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, "master_key_missing");
  EXPECT_NE(missing.error().message.find("hiegatectl keygen --out"), std::string::npos);

  const auto real = dir.write("real", key_bytes('a'), 0400);
  ASSERT_EQ(::symlink(real.c_str(), (dir / "link").c_str()), 0);
  auto link = read_master_key(dir / "link", true);
  ASSERT_FALSE(link.ok());
  EXPECT_NE(link.error().message.find("symbolic link"), std::string::npos);

  std::filesystem::create_directory(dir / "d");
  auto d = read_master_key(dir / "d", true);
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.error().message.find("not a regular file"), std::string::npos);
}

// The offline tools run as root read the service user's key, its mode still
// checked; the daemon (and any other user) only its own, and the refusal
// says how to fix it.
TEST(KeyRing, AForeignOwnerIsReadByRootToolsAloneOthersGetAChownHint) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to give a file away";
  TempDir dir;
  ::chmod(dir.path().c_str(), 0755);
  const auto f = dir.write("master-key", key_bytes('a'), 0400);
  ASSERT_EQ(::chown(f.c_str(), 65534, 65534), 0);
  EXPECT_TRUE(KeyRing::load(f, /*root_reads_any=*/true).ok());
  auto daemon = KeyRing::load(f);
  ASSERT_FALSE(daemon.ok());
  EXPECT_NE(daemon.error().message.find("chown "), std::string::npos) << daemon.error().message;
  ::chmod(f.c_str(), 0444);
  auto loose = KeyRing::load(f, true);
  ASSERT_FALSE(loose.ok());
  EXPECT_NE(loose.error().message.find("chmod 0400"), std::string::npos) << loose.error().message;
  // As another user: refused, with the chown that fixes it.
  const pid_t child = ::fork();
  if (child == 0) {
    if (::setgid(1) != 0 || ::setuid(1) != 0) ::_exit(3);
    auto ring = KeyRing::load_file(f, true);
    ::_exit(ring.ok() ? 1 : ring.error().message.find("chown ") != std::string::npos ? 0 : 2);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

// Under systemd the unit hands over the key it names at start; a version
// made later beside the configured file joins it, with the file checks.
TEST(KeyRing, ANewVersionBesideTheConfiguredKeyJoinsTheCredential) {
  TempDir dir;
  dir.write("creds/master-key", key_bytes('a'), 0644);
  dir.write("etc/master-key", key_bytes('z'), 0400);  // the credential wins for version 1
  dir.write("etc/master-key.2", key_bytes('b'), 0400);
  ::setenv("CREDENTIALS_DIRECTORY", (dir / "creds").c_str(), 1);
  auto ring = KeyRing::load(dir / "etc" / "master-key");
  ASSERT_TRUE(ring.ok()) << ring.error().message;
  EXPECT_EQ(ring->versions(), (std::vector<std::uint32_t>{1, 2}));
  ::unsetenv("CREDENTIALS_DIRECTORY");
  auto from_creds = KeyRing::load_file(dir / "creds" / "master-key", false);
  auto from_files = KeyRing::load_file(dir / "etc" / "master-key", true);
  ASSERT_TRUE(from_creds.ok());
  ASSERT_TRUE(from_files.ok());
  EXPECT_EQ(ring->check_value(1), from_creds->check_value(1));
  EXPECT_EQ(ring->check_value(2), from_files->check_value(2));
  // A version others may read is refused, whatever the credential.
  dir.write("etc/master-key.3", key_bytes('c'), 0644);
  ::setenv("CREDENTIALS_DIRECTORY", (dir / "creds").c_str(), 1);
  auto loose = KeyRing::load(dir / "etc" / "master-key");
  ::unsetenv("CREDENTIALS_DIRECTORY");
  ASSERT_FALSE(loose.ok());
  EXPECT_EQ(loose.error().code, "master_key_invalid");
}

TEST(KeyRing, VersionedSiblingsAndCredentialsDirectory) {
  TempDir dir;
  dir.write("creds/master-key", key_bytes('a'), 0644);  // credential dirs skip mode checks
  dir.write("creds/master-key.2", key_bytes('b'), 0644);
  dir.write("creds/master-key.x", key_bytes('c'), 0644);  // ignored: not a version
  ::setenv("CREDENTIALS_DIRECTORY", (dir / "creds").c_str(), 1);
  auto ring = KeyRing::load("/nonexistent/master-key");
  ::unsetenv("CREDENTIALS_DIRECTORY");
  ASSERT_TRUE(ring.ok()) << ring.error().message;
  EXPECT_EQ(ring->versions(), (std::vector<std::uint32_t>{1, 2}));
  EXPECT_EQ(ring->active_version(), 2u);
  EXPECT_NE(ring->check_value(1), ring->check_value(2));
}

TEST(Keygen, WritesOwnerOnlyKeyAndNeverClobbers) {
  TempDir dir;
  const auto f = dir / "new-key";
  ASSERT_TRUE(write_new_master_key(f).ok());
  struct stat st {};
  ASSERT_EQ(::stat(f.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0400u);
  EXPECT_EQ(st.st_size, 32);
  const std::string before = test::read_file(f);
  auto again = write_new_master_key(f);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, "file_exists");
  EXPECT_EQ(test::read_file(f), before);
  EXPECT_TRUE(KeyRing::load_file(f, true).ok());
  ASSERT_TRUE(write_new_master_key(dir / "k2").ok());
  EXPECT_NE(test::read_file(dir / "k2"), before);
}

}  // namespace
}  // namespace hiegate::crypto
