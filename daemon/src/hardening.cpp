#include "hiegate/daemon/hardening.hpp"

#include <dirent.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace hiegate::daemon {

namespace {

void close_inherited_fds() {
  int keep_above = STDERR_FILENO;
  if (const char* n = std::getenv("LISTEN_FDS")) keep_above += std::atoi(n);  // socket activation
  std::vector<int> fds;
  if (DIR* d = ::opendir("/proc/self/fd")) {
    const int self_fd = ::dirfd(d);
    while (const dirent* e = ::readdir(d)) {
      const int fd = std::atoi(e->d_name);
      if (e->d_name[0] == '.' || fd == self_fd || fd <= keep_above) continue;
      fds.push_back(fd);
    }
    ::closedir(d);
  }
  for (int fd : fds) ::close(fd);
}

}  // namespace

Status harden_process(const HardeningOptions& opts) {
  if (::geteuid() == 0 && !opts.allow_root) {
    return make_error("running_as_root",
                      "hiegated must not run as root; run it as the hiegate user (the systemd unit "
                      "does), or pass --allow-root for a throw-away test environment");
  }
  if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
    return make_error("hardening_failed", std::string("PR_SET_DUMPABLE: ") + std::strerror(errno));
  }
  const rlimit no_core{0, 0};
  if (::setrlimit(RLIMIT_CORE, &no_core) != 0) {
    return make_error("hardening_failed", std::string("RLIMIT_CORE: ") + std::strerror(errno));
  }
  ::umask(077);
  close_inherited_fds();
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    return make_error("hardening_failed", std::string("PR_SET_NO_NEW_PRIVS: ") + std::strerror(errno));
  }
  rlimit nofile{};
  if (::getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
    nofile.rlim_cur = nofile.rlim_max;
    (void)::setrlimit(RLIMIT_NOFILE, &nofile);
  }
  return {};
}

}  // namespace hiegate::daemon
