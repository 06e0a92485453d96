// Shared fixture of the transport tests: a throw-away network PKI made with
// hiegate's own pki code, certificates made with the openssl CLI for
// independence, child processes (openssl s_client, curl) and a one-shot TLS
// server outcome collector. Header-only: tests/transport has one binary.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <boost/asio.hpp>

#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "hiegate/transport/credentials.hpp"
#include "hiegate/transport/pki.hpp"
#include "hiegate/transport/tls_stream.hpp"
#include "support/temp_dir.hpp"

namespace hiegate::transport::testing {

namespace fs = std::filesystem;
namespace asio = boost::asio;
using Clock = std::chrono::system_clock;

/// A child process with stdin fed from a string and stdout/stderr captured
/// to a file. Killed on destruction if still running.
class Child {
public:
  Child(std::vector<std::string> argv, const std::string& input, const fs::path& out) {
    int in[2];
    if (::pipe2(in, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
    // Everything the child needs is prepared before fork(): in a
    // multithreaded parent the child may only make async-signal-safe calls
    // (an allocation there can deadlock on a lock another thread held).
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    const std::string out_path = out.string();
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(in[0], 0);
      const int fd = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      ::execvp(args[0], args.data());
      ::_exit(127);
    }
    ::close(in[0]);
    (void)!::write(in[1], input.data(), input.size());
    ::close(in[1]);
  }
  ~Child() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      wait();
    }
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  int wait() {
    int st = 0;
    if (pid_ > 0 && ::waitpid(pid_, &st, 0) == pid_) pid_ = -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  }

private:
  pid_t pid_ = -1;
};

/// Runs a command to completion (for the openssl CLI); returns exit status.
inline int run(const std::string& cmd) { return std::system((cmd + " >/dev/null 2>&1").c_str()); }

struct Pki {
  test::TempDir dir;
  pki::DevNetwork net;
  std::string network = "nishitama";

  Pki() {
    auto n = pki::dev_network(dir.path(), network, 2, Clock::now());
    if (!n) throw std::runtime_error(n.error().message);
    net = *n;
  }
  fs::path ca_dir() const { return net.ca_dir; }
  fs::path facility_dir(int i) const { return dir / "facilities" / net.facility_codes.at(i); }
  PeerIdentity facility(int i) const {
    return PeerIdentity{PeerIdentity::Kind::facility, network, net.facility_codes.at(i)};
  }
  /// Options for this network, the rest default.
  CredentialOptions options() const {
    CredentialOptions o;
    o.network = network;
    return o;
  }
  CredentialPaths paths(const fs::path& d) const {
    return {d / "cert.pem", d / "key.pem", net.ca_dir / "ca.crt", net.ca_dir / "crl.pem"};
  }
  std::shared_ptr<CredentialStore> store(const fs::path& d, CredentialOptions opts = {}) const {
    opts.network = network;
    auto s = CredentialStore::open(paths(d), opts, Clock::now());
    if (!s) throw std::runtime_error(s.error().code + ": " + s.error().message);
    return *s;
  }
  /// A key + certificate in `d` issued by our CA through pki::ca_issue.
  fs::path issue(const std::string& name, const PeerIdentity& id, Clock::time_point nb, Clock::time_point na) const {
    const fs::path d = dir / name;
    fs::create_directories(d);
    auto kc = pki::make_csr(id);
    if (!kc) throw std::runtime_error(kc.error().message);
    auto cert = pki::ca_issue(net.ca_dir, kc->csr_pem, {nb, na});
    if (!cert) throw std::runtime_error(cert.error().message);
    dir.write(name + "/key.pem", kc->key_pem);
    dir.write(name + "/cert.pem", *cert);
    return d;
  }
  /// A key + certificate made and signed by the openssl CLI with our CA key,
  /// with the given extensions (openssl x509v3 config lines).
  fs::path openssl_issue(const std::string& name, const std::string& subject, const std::string& ext) const {
    const fs::path d = dir / name;
    fs::create_directories(d);
    dir.write(name + "/ext.cnf", "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                                 "extendedKeyUsage=serverAuth,clientAuth\n" + ext + "\n");
    const std::string k = (d / "key.pem").string(), c = (d / "cert.pem").string(), r = (d / "req.pem").string();
    if (run("openssl ecparam -name prime256v1 -genkey -noout -out " + k + ".ec") != 0 ||
        run("openssl pkcs8 -topk8 -nocrypt -in " + k + ".ec -out " + k) != 0 ||
        run("openssl req -new -key " + k + " -subj '" + subject + "' -out " + r) != 0 ||
        run("openssl x509 -req -in " + r + " -CA " + (net.ca_dir / "ca.crt").string() + " -CAkey " +
            (net.ca_dir / "ca.key").string() + " -CAcreateserial -days 30 -sha256 -extfile " +
            (d / "ext.cnf").string() + " -out " + c) != 0)
      throw std::runtime_error("openssl CLI failed");
    return d;
  }
};

/// What a server-side stream saw: handshake result, peer, first read.
struct ServerOutcome {
  bool done = false;
  boost::system::error_code handshake;
  boost::system::error_code read;
  std::optional<PeerIdentity> peer;
  std::optional<Error> error;
  std::string data;
};

/// Accepts one connection on `acc`, handshakes, then reads until an error.
inline void serve_one(asio::ip::tcp::acceptor& acc, std::shared_ptr<TlsContext> ctx, ServerOutcome& out,
                      std::chrono::milliseconds timeout = std::chrono::milliseconds(3000)) {
  acc.async_accept([&out, timeout, ctx](boost::system::error_code ec, asio::ip::tcp::socket sock) {
    if (ec) {
      out.handshake = ec;
      out.done = true;
      return;
    }
    auto s = std::make_shared<TlsStream>(std::move(sock), ctx, TlsRole::server);
    s->expires_after(timeout);
    s->async_handshake([s, &out](boost::system::error_code hec) {
      out.handshake = hec;
      out.peer = s->peer();
      out.error = s->last_error();
      if (hec) {
        out.done = true;
        return;
      }
      auto buf = std::make_shared<std::array<char, 4096>>();
      auto loop = std::make_shared<std::function<void()>>();
      *loop = [s, buf, loop, &out] {
        s->async_read_some(asio::buffer(*buf), [s, buf, loop, &out](boost::system::error_code rec, std::size_t n) {
          out.data.append(buf->data(), n);
          if (rec) {
            out.read = rec;
            out.error = s->last_error();
            out.done = true;
            *loop = nullptr;  // break the cycle
            return;
          }
          (*loop)();
        });
      };
      (*loop)();
    });
  });
}

/// Runs `ioc` until `pred()` or the wall-clock limit.
template <class Pred>
void run_until(asio::io_context& ioc, Pred pred, std::chrono::milliseconds limit = std::chrono::milliseconds(8000)) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (!pred() && std::chrono::steady_clock::now() < end) {
    ioc.restart();
    ioc.run_for(std::chrono::milliseconds(20));
  }
}

}  // namespace hiegate::transport::testing
