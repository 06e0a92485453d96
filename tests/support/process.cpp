#include "support/process.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <thread>

#include "support/temp_dir.hpp"

extern char** environ;

namespace hiegate::test {

std::filesystem::path binary(const std::string& name) {
  const std::filesystem::path root = HIEGATE_BINARY_DIR;
  if (name == "hiegated") return root / "daemon" / name;
  return root / "tools" / name;
}

namespace {
/// argv[0] as execve needs it: a bare name is looked up in PATH (before the
/// fork: nothing may allocate between fork and exec).
std::string resolve_program(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/bin:/bin";
  std::size_t start = 0;
  while (start <= dirs.size()) {
    const std::size_t end = std::min(dirs.find(':', start), dirs.size());
    const std::string candidate = dirs.substr(start, end - start) + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return name;
}

int decode(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}
}  // namespace

Child::Child(const std::vector<std::string>& argv, const std::vector<std::string>& env,
             const std::filesystem::path& log_file) {
  std::vector<std::string> envs;
  for (char** e = environ; *e != nullptr; ++e) envs.emplace_back(*e);
  for (const auto& e : env) {
    const auto key = e.substr(0, e.find('=') + 1);
    std::erase_if(envs, [&](const std::string& x) { return x.starts_with(key); });
    envs.push_back(e);
  }
  const std::string program = argv.empty() ? std::string() : resolve_program(argv[0]);
  std::vector<char*> cargv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  std::vector<char*> cenv;
  for (const auto& e : envs) cenv.push_back(const_cast<char*>(e.c_str()));
  cenv.push_back(nullptr);
  const int fd = ::open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) throw std::runtime_error("cannot open " + log_file.string());
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    ::dup2(fd, STDOUT_FILENO);
    ::dup2(fd, STDERR_FILENO);
    ::execve(program.c_str(), cargv.data(), cenv.data());
    ::_exit(127);
  }
  ::close(fd);
}

Child::~Child() {
  if (pid_ > 0 && !status_) {
    ::kill(pid_, SIGKILL);
    int st = 0;
    ::waitpid(pid_, &st, 0);
  }
}

void Child::signal(int sig) const { ::kill(pid_, sig); }

std::optional<int> Child::wait(std::chrono::milliseconds timeout) {
  if (status_) return status_;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int st = 0;
    const pid_t r = ::waitpid(pid_, &st, WNOHANG);
    if (r == pid_) {
      status_ = decode(st);
      return status_;
    }
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

bool Child::running() { return !wait(std::chrono::milliseconds(0)).has_value(); }

RunResult run(const std::vector<std::string>& argv, const std::vector<std::string>& env,
              std::chrono::milliseconds timeout) {
  TempDir dir;
  const auto log = dir / "output";
  RunResult r;
  {
    Child c(argv, env, log);
    const auto st = c.wait(timeout);
    r.status = st.value_or(-1);
  }
  r.output = read_file(log);
  return r;
}

std::optional<std::string> wait_for_line(const std::filesystem::path& file, const std::string& needle,
                                         std::chrono::milliseconds timeout) {
  std::optional<std::string> found;
  eventually(
      [&] {
        std::string text;
        try {
          text = read_file(file);
        } catch (const std::exception&) {
          return false;
        }
        const auto pos = text.find(needle);
        if (pos == std::string::npos) return false;
        const auto start = text.rfind('\n', pos);
        const auto end = text.find('\n', pos);
        found = text.substr(start == std::string::npos ? 0 : start + 1,
                            end == std::string::npos ? std::string::npos
                                                     : end - (start == std::string::npos ? 0 : start + 1));
        return true;
      },
      timeout);
  return found;
}

namespace {
// The first port the kernel may hand out by itself (bind to port 0, outgoing
// connections); ports below it are only ever taken by asking for them.
int ephemeral_low() {
  int low = 32768;
  if (FILE* f = std::fopen("/proc/sys/net/ipv4/ip_local_port_range", "r")) {
    if (std::fscanf(f, "%d", &low) != 1) low = 32768;
    std::fclose(f);
  }
  return low;
}

bool bindable(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sa.sin_port = htons(port);
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
  ::close(fd);
  return ok;
}
}  // namespace

std::uint16_t free_port() {
  // A port from the ephemeral range, released and handed to a daemon later,
  // can meanwhile be taken by any other test's port-0 listener or outgoing
  // connection (ctest runs tests in parallel): pick below that range, each
  // process from its own slice (by pid), and check that it binds.
  constexpr int kFirst = 10000, kSlice = 100;
  static const int last = ephemeral_low() - 1;
  static std::atomic<int> next{0};
  if (last - kFirst >= 10 * kSlice) {
    const int span = last - kFirst + 1;
    const int base = static_cast<int>(::getpid()) % (span / kSlice) * kSlice;
    for (int tries = 0; tries < span; ++tries) {
      const auto port = static_cast<std::uint16_t>(kFirst + (base + next.fetch_add(1)) % span);
      if (bindable(port)) return port;
    }
  }
  // No room below the ephemeral range: let the kernel choose.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  socklen_t len = sizeof sa;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  ::close(fd);
  return ntohs(sa.sin_port);
}

}  // namespace hiegate::test
