#include "audit/spool.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <sstream>

#include "hiegate/crypto/encoding.hpp"
#include "hiegate/crypto/primitives.hpp"
#include "hiegate/crypto/sealed.hpp"

namespace hiegate::daemon::audit {

namespace {

constexpr const char* kSpoolBinding = "audit_spool";

Status write_all(int fd, const crypto::Bytes& b) {
  std::size_t off = 0;
  while (off < b.size()) {
    const auto n = ::write(fd, b.data() + off, b.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return make_error("audit_unavailable", std::string("spool write failed: ") + std::strerror(errno));
    off += static_cast<std::size_t>(n);
  }
  return {};
}

Status fsync_dir(const std::filesystem::path& d) {
  const int fd = ::open(d.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return make_error("audit_unavailable", "cannot open " + d.string());
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return make_error("audit_unavailable", "cannot fsync " + d.string());
  return {};
}

/// A tool run as root (hiegatectl) must leave the spool readable by the
/// daemon's service user, which owns the audit directory: what root creates
/// there is handed to that owner. A record the daemon could not read would
/// never reach the trail: failing to hand it over fails the write.
Status adopt_owner(int fd, const std::filesystem::path& owner_of, const std::filesystem::path& what) {
  struct stat st {};
  if (::geteuid() != 0 || ::stat(owner_of.c_str(), &st) != 0 || st.st_uid == 0) return {};
  if (::fchown(fd, st.st_uid, st.st_gid) != 0) {
    return make_error("audit_unavailable", "cannot give " + what.string() + " to the owner of " + owner_of.string() +
                                               ": " + std::strerror(errno));
  }
  return {};
}

}  // namespace

Result<WriterLock> WriterLock::acquire(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  const auto path = dir / "audit.lock";
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return make_error("audit_unavailable", "cannot open " + path.string() + ": " + std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    return make_error("audit_busy", "another process (a running hiegated) writes the audit trail in " + dir.string());
  }
  return WriterLock(fd);
}

WriterLock::~WriterLock() {
  if (fd_ >= 0) ::close(fd_);  // releases the flock
}

std::filesystem::path spool_dir(const std::filesystem::path& dir) { return dir / "audit-spool"; }

Status spool_write(const std::filesystem::path& dir, const Keys& keys, const AuditRecord& r) {
  const auto sd = spool_dir(dir);
  std::error_code ec;
  if (std::filesystem::create_directories(sd, ec)) {
    const int dfd = ::open(sd.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) return make_error("audit_unavailable", "cannot open " + sd.string() + ": " + std::strerror(errno));
    const Status owned = adopt_owner(dfd, dir, sd);
    ::close(dfd);
    if (!owned) return owned;
  }
  if (ec) return make_error("audit_unavailable", "cannot create " + sd.string() + ": " + ec.message());
  const std::string body = encode_body(0, r);
  const auto sealed = crypto::seal(keys.ring(), keys.active_version(), {kSpoolBinding, {}},
                                   crypto::ByteView(reinterpret_cast<const std::uint8_t*>(body.data()), body.size()));
  char stamp[32];
  std::snprintf(stamp, sizeof stamp, "%016lld", static_cast<long long>(r.time_ms));
  const std::string name = std::string(stamp) + "-" + crypto::to_hex(crypto::random_bytes(8));
  const auto tmp = sd / (name + ".tmp");
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return make_error("audit_unavailable", "cannot create " + tmp.string() + ": " + std::strerror(errno));
  Status st = adopt_owner(fd, dir, tmp);
  if (st) st = write_all(fd, sealed);
  if (st && ::fsync(fd) != 0) st = make_error("audit_unavailable", "cannot fsync " + tmp.string());
  ::close(fd);
  if (st && ::rename(tmp.c_str(), (sd / (name + ".rec")).c_str()) != 0) {
    st = make_error("audit_unavailable", "cannot rename " + tmp.string());
  }
  if (!st) {
    std::filesystem::remove(tmp, ec);
    return st;
  }
  return fsync_dir(sd);
}

std::vector<SpoolItem> spool_read(const std::filesystem::path& dir, const Keys& keys, std::size_t max,
                                  std::vector<std::string>& rejected) {
  std::vector<SpoolItem> out;
  const auto sd = spool_dir(dir);
  std::error_code ec;
  if (!std::filesystem::is_directory(sd, ec)) return out;
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(sd, ec)) {
    if (e.path().extension() == ".rec") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    if (out.size() >= max) break;
    std::ifstream in(f, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string data = ss.str();
    auto plain = crypto::open(keys.ring(), {kSpoolBinding, {}},
                              crypto::ByteView(reinterpret_cast<const std::uint8_t*>(data.data()), data.size()));
    Result<AuditEntry> e = plain ? decode_body(std::string_view(reinterpret_cast<const char*>(plain->data()),
                                                                plain->size()))
                                 : Result<AuditEntry>(plain.error());
    if (!e) {
      rejected.push_back(f.filename().string() + ": " + e.error().code);
      std::filesystem::rename(f, std::filesystem::path(f).replace_extension(".rejected"), ec);
      continue;
    }
    out.push_back({f, std::move(e->record)});
  }
  return out;
}

}  // namespace hiegate::daemon::audit

namespace hiegate::daemon {

bool trail_in_use(const std::filesystem::path& dir) {
  const auto path = dir / "audit.lock";
  const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return false;  // no trail was ever written here
  const bool busy = ::flock(fd, LOCK_EX | LOCK_NB) != 0;
  ::close(fd);
  return busy;
}

}  // namespace hiegate::daemon
