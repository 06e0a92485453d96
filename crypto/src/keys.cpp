#include "hiegate/crypto/keys.hpp"

#include <fcntl.h>
#include <pwd.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>

#include "hiegate/crypto/primitives.hpp"

namespace hiegate::crypto {
namespace {

constexpr char kKdfContext[crypto_kdf_CONTEXTBYTES + 1] = "hiegate1";
constexpr std::size_t kPurposes = 4;

class Fd {
public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { if (fd_ >= 0) ::close(fd_); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  [[nodiscard]] int get() const { return fd_; }
  int release() { int f = fd_; fd_ = -1; return f; }
private:
  int fd_;
};

std::string service_user_name() {
  const passwd* pw = ::getpwuid(::geteuid());
  return pw != nullptr ? std::string(pw->pw_name) : std::to_string(::geteuid());
}

std::string octal_mode(mode_t m) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(m & 07777));
  return buf;
}

Error invalid(const std::string& msg) { return make_error("master_key_invalid", msg); }

std::string keygen_hint(const std::string& f) {
  return "make one with: hiegatectl keygen --out " + f;
}

// Files `<primary>.N` (N >= 2) next to `primary`, by version.
std::map<std::uint32_t, std::filesystem::path> key_files(const std::filesystem::path& primary) {
  std::map<std::uint32_t, std::filesystem::path> out;
  std::error_code ec;
  if (std::filesystem::exists(primary, ec) || std::filesystem::is_symlink(primary, ec)) out[1] = primary;
  const auto dir = primary.has_parent_path() ? primary.parent_path() : std::filesystem::path(".");
  const std::string prefix = primary.filename().string() + ".";
  for (auto it = std::filesystem::directory_iterator(dir, ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.rfind(prefix, 0) != 0) continue;
    const std::string_view digits = std::string_view(name).substr(prefix.size());
    std::uint32_t v = 0;
    const auto [p, e] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
    if (e != std::errc() || p != digits.data() + digits.size() || v < 2 || digits[0] == '0') continue;
    out[v] = it->path();
  }
  return out;
}

}  // namespace

Result<SecureBuffer> read_master_key(const std::filesystem::path& file, bool check_owner_mode, bool root_reads_any) {
  if (!init()) return make_error("crypto_unavailable", "libsodium failed to initialise");
  const std::string f = file.string();
  Fd fd(::open(f.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
  if (fd.get() < 0) {
    const int err = errno;
    if (err == ENOENT) return make_error("master_key_missing", "master key file " + f + " does not exist; " + keygen_hint(f));
    if (err == ELOOP) return invalid("master key file " + f + " is a symbolic link; configure the real file's path");
    if (err == EACCES) return invalid("cannot read master key file " + f + " (permission denied); fix with: chown " + service_user_name() + ": " + f);
    return invalid("cannot open master key file " + f + ": " + std::strerror(err));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return invalid("cannot stat master key file " + f + ": " + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) return invalid("master key file " + f + " is not a regular file; " + keygen_hint(f));
  if (check_owner_mode) {
    if (st.st_uid != ::geteuid() && !(root_reads_any && ::geteuid() == 0)) {
      return invalid("master key file " + f + " is owned by uid " + std::to_string(st.st_uid) +
                     ", not the service user; fix with: chown " + service_user_name() + ": " + f);
    }
    const mode_t mode = st.st_mode & 07777;
    if (mode != 0400 && mode != 0600) {
      return invalid("master key file " + f + " has mode " + octal_mode(mode) +
                     "; it must be readable by its owner only; fix with: chmod 0400 " + f);
    }
  }
  if (st.st_size != static_cast<off_t>(kMasterKeySize)) {
    return invalid("master key file " + f + " is " + std::to_string(st.st_size) +
                   " bytes; it must be exactly 32 bytes; " + keygen_hint(f));
  }
  SecureBuffer key(kMasterKeySize);
  std::size_t got = 0;
  while (got < kMasterKeySize) {
    const ssize_t n = ::read(fd.get(), key.writable().data() + got, kMasterKeySize - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return invalid("master key file " + f + " could not be read completely; " + keygen_hint(f));
    got += static_cast<std::size_t>(n);
  }
  key.protect();
  return key;
}

Result<KeyRing> KeyRing::load_file(const std::filesystem::path& primary, bool check_owner_mode,
                                   bool root_reads_any) {
  const auto files = key_files(primary);
  if (files.empty()) {
    return make_error("master_key_missing", "master key file " + primary.string() + " does not exist; " +
                                                keygen_hint(primary.string()));
  }
  KeyRing ring;
  for (const auto& [version, path] : files) {
    auto key = read_master_key(path, check_owner_mode, root_reads_any);
    if (!key) return std::move(key).error();
    auto ok = from_master_keys({{version, key->view()}});
    if (!ok) return std::move(ok).error();
    ring.subkeys_.emplace(version, std::move(ok->subkeys_.begin()->second));
  }
  return ring;
}

Result<KeyRing> KeyRing::load(const std::filesystem::path& configured, bool root_reads_any) {
  if (const char* creds = std::getenv("CREDENTIALS_DIRECTORY"); creds != nullptr && *creds != '\0') {
    auto ring = load_file(std::filesystem::path(creds) / kMasterKeyName, false);
    if (!ring) return ring;
    // The unit hands over the key it names at start; a version made later
    // beside the configured file (owned by the service user, 0400) is read
    // from there, so that a rotation needs no change of the unit.
    for (const auto& [version, path] : key_files(configured)) {
      if (version < 2 || ring->subkeys_.count(version) != 0) continue;
      auto key = read_master_key(path, true, root_reads_any);
      if (!key) return std::move(key).error();
      auto ok = from_master_keys({{version, key->view()}});
      if (!ok) return std::move(ok).error();
      ring->subkeys_.emplace(version, std::move(ok->subkeys_.begin()->second));
    }
    return ring;
  }
  return load_file(configured, true, root_reads_any);
}

Result<KeyRing> KeyRing::from_master_keys(const std::map<std::uint32_t, ByteView>& keys) {
  if (!init()) return make_error("crypto_unavailable", "libsodium failed to initialise");
  if (keys.empty()) return make_error("master_key_missing", "no master key given");
  KeyRing ring;
  for (const auto& [version, master] : keys) {
    if (version == 0) return invalid("key version 0 is reserved");
    if (master.size() != kMasterKeySize) return invalid("a master key must be exactly 32 bytes");
    SecureBuffer sub(kSubkeySize * kPurposes);
    for (std::size_t i = 0; i < kPurposes; ++i) {
      crypto_kdf_derive_from_key(sub.writable().data() + i * kSubkeySize, kSubkeySize, i + 1, kKdfContext,
                                 master.data());
    }
    sub.protect();
    ring.subkeys_.emplace(version, std::move(sub));
  }
  return ring;
}

std::vector<std::uint32_t> KeyRing::versions() const {
  std::vector<std::uint32_t> out;
  for (const auto& [v, _] : subkeys_) out.push_back(v);
  return out;
}

ByteView KeyRing::subkey(std::uint32_t version, KeyPurpose purpose) const {
  const auto& buf = subkeys_.at(version);
  return buf.view().subspan((static_cast<std::size_t>(purpose) - 1) * kSubkeySize, kSubkeySize);
}

Bytes KeyRing::check_value(std::uint32_t version) const {
  static constexpr std::string_view kLabel = "hiegate key check value v1";
  Bytes out(32);
  const auto key = subkey(version, KeyPurpose::check);
  crypto_generichash(out.data(), out.size(), reinterpret_cast<const unsigned char*>(kLabel.data()),
                     kLabel.size(), key.data(), key.size());
  return out;
}

std::string KeyRing::fingerprint(std::uint32_t version) const {
  static constexpr std::string_view kLabel = "hiegate key fingerprint v1";
  std::uint8_t out[16];
  const auto key = subkey(version, KeyPurpose::check);
  crypto_generichash(out, sizeof out, reinterpret_cast<const unsigned char*>(kLabel.data()), kLabel.size(),
                     key.data(), key.size());
  return to_hex(out);
}

Status write_new_master_key(const std::filesystem::path& out) {
  if (!init()) return make_error("crypto_unavailable", "libsodium failed to initialise");
  const std::string f = out.string();
  Fd fd(::open(f.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0400));
  if (fd.get() < 0) {
    const int err = errno;
    if (err == EEXIST) return make_error("file_exists", f + " already exists; a key is never overwritten (move it away first)");
    return make_error("io_error", "cannot create " + f + ": " + std::strerror(err));
  }
  auto fail = [&](const std::string& what) {
    const int err = errno;
    ::close(fd.release());
    ::unlink(f.c_str());
    return make_error("io_error", what + " " + f + ": " + std::strerror(err));
  };
  if (::fchmod(fd.get(), 0400) != 0) return fail("cannot chmod");
  SecureBuffer key(kMasterKeySize);
  randombytes_buf(key.writable().data(), key.size());
  std::size_t done = 0;
  while (done < key.size()) {
    const ssize_t n = ::write(fd.get(), key.data() + done, key.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail("cannot write");
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd.get()) != 0) return fail("cannot fsync");
  if (::close(fd.release()) != 0) {
    ::unlink(f.c_str());
    return make_error("io_error", "cannot close " + f);
  }
  const auto dir = out.has_parent_path() ? out.parent_path() : std::filesystem::path(".");
  Fd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dfd.get() >= 0) (void)::fsync(dfd.get());
  return {};
}

}  // namespace hiegate::crypto
