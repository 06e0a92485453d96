// BlockingTlsClient: Botan TLS 1.2 client callbacks over a plain socket.
// One connection is kept open and re-made after any failure.
#include "hiegate/transport/blocking_tls_client.hpp"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <botan/auto_rng.h>
#include <botan/certstor.h>
#include <botan/credentials_manager.h>
#include <botan/data_src.h>
#include <botan/tls_client.h>
#include <botan/tls_exceptn.h>
#include <botan/tls_policy.h>
#include <botan/tls_session_manager.h>
#include <botan/x509cert.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>


namespace hiegate::transport {

namespace {

using namespace std::chrono_literals;

constexpr auto kConnectTimeout = 5s;
constexpr auto kIoTimeout = 10s;
constexpr auto kSlice = 100ms;  // how soon a blocking step notices `abort`

class Trust final : public Botan::Credentials_Manager {
public:
  explicit Trust(std::vector<Botan::X509_Certificate> cas) {
    for (auto& c : cas) store_.add_certificate(c);
  }
  std::vector<Botan::Certificate_Store*> trusted_certificate_authorities(const std::string&,
                                                                         const std::string&) override {
    return {&store_};
  }

private:
  Botan::Certificate_Store_In_Memory store_;
};

class Policy final : public Botan::TLS::Policy {
public:
  bool allow_tls10() const override { return false; }
  bool allow_tls11() const override { return false; }
  bool allow_dtls10() const override { return false; }
  bool allow_dtls12() const override { return false; }
  bool allow_server_initiated_renegotiation() const override { return false; }
  // The collector's CA is the facility's own; no CRL is configured for it
  // (the chain, dates, key usage and host name are still checked).
  bool require_cert_revocation_info() const override { return false; }
};

/// A connected TCP socket, closed on destruction.
struct Fd {
  int fd = -1;
  Fd() = default;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }
  void reset(int f = -1) {
    if (fd >= 0) ::close(fd);
    fd = f;
  }
};

/// Waits for `events` on fd in slices; false on timeout, abort or error.
bool wait_fd(int fd, short events, std::chrono::milliseconds timeout, const std::atomic<bool>& abort) {
  for (auto left = timeout; left.count() > 0 && !abort; left -= kSlice) {
    pollfd p{fd, events, 0};
    const int n = ::poll(&p, 1, static_cast<int>(std::min(left, std::chrono::milliseconds(kSlice)).count()));
    if (n > 0) return true;
    if (n < 0 && errno != EINTR) return false;
  }
  return false;
}

}  // namespace

struct BlockingTlsClient::Impl final : Botan::TLS::Callbacks {
  Impl(std::string host, std::uint16_t port, std::vector<Botan::X509_Certificate> cas)
      : host_(std::move(host)), port_(port), trust_(std::move(cas)) {}

  bool send(std::string_view data, const std::atomic<bool>& abort, std::string& error) {
    abort_ = &abort;
    try {
      if (!connected() && !connect(error)) return drop();
      drain_incoming();
      if (!connected()) {
        error = "the server closed the connection";
        return drop();
      }
      client_->send(reinterpret_cast<const std::uint8_t*>(data.data()), data.size());
      if (write_failed_) {
        error = "write to the server failed: " + write_error_;
        return drop();
      }
      return true;
    } catch (const std::exception& e) {
      error = std::string("TLS to ") + host_ + " failed: " + e.what();
      return drop();
    }
  }

  bool connected() const { return client_ && client_->is_active() && !closed_ && !write_failed_; }

  bool drop() {
    client_.reset();
    fd_.reset();
    return false;
  }

  bool connect(std::string& error) {
    drop();
    closed_ = write_failed_ = false;
    if (!open_socket(error)) return false;
    client_ = std::make_unique<Botan::TLS::Client>(*this, sessions_, trust_, policy_, rng_,
                                                   Botan::TLS::Server_Information(host_, port_),
                                                   Botan::TLS::Protocol_Version::TLS_V12);
    const auto deadline = std::chrono::steady_clock::now() + kIoTimeout;
    while (!client_->is_active()) {
      if (closed_ || write_failed_) {
        error = "the server ended the TLS handshake" + (write_error_.empty() ? "" : ": " + write_error_);
        return false;
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (!wait_fd(fd_.fd, POLLIN, left, *abort_)) {
        error = "TLS handshake with " + host_ + " timed out";
        return false;
      }
      if (!read_some()) {
        error = "the server closed the connection during the TLS handshake";
        return false;
      }
    }
    return true;
  }

  bool open_socket(std::string& error) {
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    if (int rc = ::getaddrinfo(host_.c_str(), std::to_string(port_).c_str(), &hints, &res); rc != 0) {
      error = "cannot resolve " + host_ + ": " + ::gai_strerror(rc);
      return false;
    }
    error = "cannot connect to " + host_ + ":" + std::to_string(port_);
    for (addrinfo* a = res; a != nullptr; a = a->ai_next) {
      fd_.reset(::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol));
      if (fd_.fd < 0) continue;
      if (::connect(fd_.fd, a->ai_addr, a->ai_addrlen) == 0 ||
          (errno == EINPROGRESS && wait_fd(fd_.fd, POLLOUT, kConnectTimeout, *abort_))) {
        int so_error = 0;
        socklen_t len = sizeof so_error;
        ::getsockopt(fd_.fd, SOL_SOCKET, SO_ERROR, &so_error, &len);
        if (so_error == 0) {
          ::freeaddrinfo(res);
          return true;
        }
        error += std::string(": ") + std::strerror(so_error);
      }
      fd_.reset();
    }
    ::freeaddrinfo(res);
    return false;
  }

  /// Feeds what the server sent to TLS; false on EOF or error.
  bool read_some() {
    std::uint8_t buf[4096];
    const auto n = ::recv(fd_.fd, buf, sizeof buf, 0);
    if (n > 0) {
      client_->received_data(buf, static_cast<std::size_t>(n));
      return true;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return true;
    closed_ = true;
    return false;
  }

  /// Notices a collector that closed the connection (or sent an alert).
  void drain_incoming() {
    pollfd p{fd_.fd, POLLIN, 0};
    while (connected() && ::poll(&p, 1, 0) > 0) {
      if (!read_some()) break;
    }
  }

  // Botan::TLS::Callbacks
  void tls_emit_data(const std::uint8_t data[], std::size_t size) override {
    while (size > 0 && !write_failed_) {
      const auto n = ::send(fd_.fd, data, size, MSG_NOSIGNAL);
      if (n > 0) {
        data += n;
        size -= static_cast<std::size_t>(n);
      } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
        if (!wait_fd(fd_.fd, POLLOUT, kIoTimeout, *abort_)) {
          write_failed_ = true;
          write_error_ = "timed out";
        }
      } else {
        write_failed_ = true;
        write_error_ = std::strerror(errno);
      }
    }
  }
  void tls_record_received(std::uint64_t, const std::uint8_t[], std::size_t) override {}
  void tls_alert(Botan::TLS::Alert alert) override {
    if (alert.is_fatal() || alert.type() == Botan::TLS::Alert::CLOSE_NOTIFY) closed_ = true;
  }
  bool tls_session_established(const Botan::TLS::Session&) override { return false; }

  std::string host_;
  std::uint16_t port_;
  Trust trust_;
  Policy policy_;
  Botan::AutoSeeded_RNG rng_;
  Botan::TLS::Session_Manager_Noop sessions_;
  Fd fd_;
  std::unique_ptr<Botan::TLS::Client> client_;
  bool closed_ = false, write_failed_ = false;
  std::string write_error_;
  const std::atomic<bool>* abort_ = nullptr;
};

Result<std::unique_ptr<BlockingTlsClient>> BlockingTlsClient::create(std::string host, std::uint16_t port,
                                                                      const std::filesystem::path& ca_file) {
  std::ifstream f(ca_file, std::ios::binary);
  if (!f) return make_error("config_invalid", "cannot read the CA file " + ca_file.string());
  std::stringstream ss;
  ss << f.rdbuf();
  std::vector<Botan::X509_Certificate> cas;
  try {
    Botan::DataSource_Memory src(ss.str());
    while (!src.end_of_data()) {
      try {
        cas.emplace_back(src);
      } catch (const Botan::Decoding_Error&) {
        break;  // trailing text after the last certificate
      }
    }
  } catch (const std::exception& e) {
    return make_error("config_invalid", "the CA file " + ca_file.string() + " is not PEM: " + e.what());
  }
  if (cas.empty()) {
    return make_error("config_invalid", "the CA file " + ca_file.string() + " holds no certificate");
  }
  if (host.empty()) return make_error("config_invalid", "the host name is empty");
  return std::unique_ptr<BlockingTlsClient>(
      new BlockingTlsClient(std::make_unique<Impl>(std::move(host), port, std::move(cas))));
}

BlockingTlsClient::BlockingTlsClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
BlockingTlsClient::~BlockingTlsClient() = default;

Status BlockingTlsClient::send(std::string_view data, const std::atomic<bool>& abort) {
  std::string error;
  if (impl_->send(data, abort, error)) return {};
  return make_error("tls_send_failed", error);
}

}  // namespace hiegate::transport
