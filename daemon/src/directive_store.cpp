#include "hiegate/daemon/directive_store.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace hiegate::daemon {
namespace {

namespace fs = std::filesystem;

// Larger than any acceptable envelope; a bigger file is not ours.
constexpr std::size_t kMaxFileBytes = 1 << 20;
constexpr const char* kBehindFile = "heartbeat-behind.json";

class UniqueFd {
 public:
  explicit UniqueFd(int fd = -1) noexcept : fd_(fd) {}
  ~UniqueFd() { reset(); }
  UniqueFd(UniqueFd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&&) = delete;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  [[nodiscard]] int get() const noexcept { return fd_; }
  [[nodiscard]] bool valid() const noexcept { return fd_ >= 0; }
  /// Closes now and reports close()'s own failure (matters after writes).
  bool close() noexcept {
    const int fd = std::exchange(fd_, -1);
    return fd < 0 || ::close(fd) == 0;
  }

 private:
  void reset() noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  int fd_;
};

std::string errno_text(const std::string& what) { return what + ": " + std::strerror(errno); }

std::string file_name(policy::DocumentKind kind, std::uint64_t version) {
  switch (kind) {
    case policy::DocumentKind::keyset:
      return "keyset-" + std::to_string(version) + ".json";
    case policy::DocumentKind::orders:
      return "orders.json";
    case policy::DocumentKind::heartbeat:
      return "heartbeat.json";
  }
  return "unknown.json";
}

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

// nullopt when the file does not exist; an error when it cannot be read.
Result<std::optional<std::string>> read_optional(const fs::path& p) {
  UniqueFd fd(::open(p.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd.valid()) {
    if (errno == ENOENT) return std::optional<std::string>();
    return make_error("store_read_failed", errno_text("open " + p.string()));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return make_error("store_read_failed", p.string() + " is not a regular file");
  }
  if (static_cast<std::size_t>(st.st_size) > kMaxFileBytes) {
    return make_error("store_read_failed", p.string() + " is too large");
  }
  std::string out;
  char buf[8192];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return make_error("store_read_failed", errno_text("read " + p.string()));
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
    if (out.size() > kMaxFileBytes)
      return make_error("store_read_failed", p.string() + " is too large");
  }
  return std::optional<std::string>(std::move(out));
}

}  // namespace

Result<DirectiveStore> DirectiveStore::open(fs::path dir) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return make_error("store_unavailable", errno_text("mkdir " + dir.string()));
  }
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return make_error("store_unavailable", dir.string() + " is not a directory");
  }
  return DirectiveStore(std::move(dir));
}

Status DirectiveStore::persist(policy::DocumentKind kind, std::uint64_t version,
                               std::string_view envelope) const {
  return write_file(file_name(kind, version), envelope);
}

Status DirectiveStore::persist_behind(const std::optional<std::string>& envelope) const {
  if (envelope) return write_file(kBehindFile, *envelope);
  const fs::path target = dir_ / kBehindFile;
  if (::unlink(target.c_str()) != 0 && errno != ENOENT) {
    return make_error("store_write_failed", errno_text("remove " + target.string()));
  }
  return {};
}

Status DirectiveStore::write_file(const std::string& name, std::string_view envelope) const {
  std::string tmp = (dir_ / ("." + name + ".tmp-XXXXXX")).string();
  UniqueFd fd(::mkostemp(tmp.data(), O_CLOEXEC));  // mode 0600
  if (!fd.valid())
    return make_error("store_write_failed", errno_text("create temp in " + dir_.string()));
  const auto fail = [&tmp](const std::string& what) {
    const Error e = make_error("store_write_failed", errno_text(what));
    ::unlink(tmp.c_str());
    return e;
  };
  if (!write_all(fd.get(), envelope)) return fail("write " + tmp);
  if (::fsync(fd.get()) != 0) return fail("fsync " + tmp);
  if (!fd.close()) return fail("close " + tmp);
  const fs::path target = dir_ / name;
  if (::rename(tmp.c_str(), target.c_str()) != 0) return fail("rename to " + target.string());
  UniqueFd dfd(::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dfd.valid() || ::fsync(dfd.get()) != 0) {
    return make_error("store_write_failed", errno_text("fsync " + dir_.string()));
  }
  return {};
}

Result<policy::StoredEnvelopes> DirectiveStore::read(std::string trust_anchor) const {
  policy::StoredEnvelopes out;
  out.trust_anchor = std::move(trust_anchor);
  for (std::uint64_t v = 2;; ++v) {
    auto bytes = read_optional(dir_ / file_name(policy::DocumentKind::keyset, v));
    if (!bytes) return std::move(bytes).error();
    if (!*bytes) break;
    out.keysets.push_back(std::move(**bytes));
  }
  for (auto kind : {policy::DocumentKind::orders, policy::DocumentKind::heartbeat}) {
    auto bytes = read_optional(dir_ / file_name(kind, 0));
    if (!bytes) return std::move(bytes).error();
    (kind == policy::DocumentKind::orders ? out.orders : out.heartbeat) = std::move(*bytes);
  }
  auto behind = read_optional(dir_ / kBehindFile);
  if (!behind) return std::move(behind).error();
  out.behind_from = std::move(*behind);
  return out;
}

Result<DirectiveStartup> start_directives(const DirectiveStore& store,
                                          std::string_view trust_anchor,
                                          const policy::VerifierOptions& options) {
  auto anchor = policy::install_trust_anchor(trust_anchor, options);
  if (!anchor) return std::move(anchor).error();
  DirectiveStartup out{std::move(*anchor), true, {}};

  auto stored = store.read(std::string(trust_anchor));
  if (!stored) {
    out.reason = stored.error().code + ": " + stored.error().message;
    return out;
  }
  // In failsafe, keep whatever keyset chain still verifies, so that the
  // secretariat's next orders verify under the keys it now uses.
  const auto keep_keysets = [&] {
    const policy::StoredEnvelopes chain{stored->trust_anchor, stored->keysets, {}, {}, {}};
    if (auto partial = policy::verify_stored(chain, options)) out.state = std::move(*partial);
  };
  if (!stored->orders) {
    out.reason = "no stored orders in " + store.dir().string();
    keep_keysets();
    return out;
  }
  auto verified = policy::verify_stored(*stored, options);
  if (!verified) {
    out.reason = "stored directives failed verification: " + verified.error().code + ": " +
                 verified.error().message;
    keep_keysets();
    return out;
  }
  out.state = std::move(*verified);
  out.failsafe = false;
  return out;
}

}  // namespace hiegate::daemon
