#include "files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace hiegate::transport::detail {
namespace {

class Fd {
public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  [[nodiscard]] int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

private:
  int fd_;
};

Error io_error(const std::filesystem::path& p, std::string_view what) {
  return make_error("io_error", std::string(what) + " " + p.string() + ": " + std::strerror(errno));
}

}  // namespace

Result<std::string> read_text(const std::filesystem::path& p, std::size_t max_bytes) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(p, ec);
  if (ec) return make_error("file_missing", "cannot read " + p.string() + ": " + ec.message());
  if (size > max_bytes) return make_error("file_too_large", p.string() + " is larger than allowed");
  std::ifstream in(p, std::ios::binary);
  if (!in) return make_error("file_missing", "cannot open " + p.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Status write_file(const std::filesystem::path& p, std::string_view content, unsigned mode,
                  bool exclusive) {
  if (exclusive && std::filesystem::exists(p))
    return make_error("file_exists", p.string() + " already exists");
  const std::string tmp = p.string() + ".tmp";
  ::unlink(tmp.c_str());
  Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
  if (fd.get() < 0) return io_error(tmp, "cannot create");
  ::fchmod(fd.get(), mode);
  std::size_t off = 0;
  while (off < content.size()) {
    const ssize_t n = ::write(fd.get(), content.data() + off, content.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      ::unlink(tmp.c_str());
      return io_error(tmp, "cannot write");
    }
    off += static_cast<std::size_t>(n);
  }
  if (::fsync(fd.get()) != 0 || ::close(fd.release()) != 0) {
    ::unlink(tmp.c_str());
    return io_error(tmp, "cannot flush");
  }
  if (::rename(tmp.c_str(), p.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return io_error(p, "cannot rename into");
  }
  return {};
}

}  // namespace hiegate::transport::detail
