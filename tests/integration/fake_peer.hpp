// A peer API in the test's own process: the routes it is given, over mutual
// TLS with the certificate in `cert_dir` of a dev PKI. Stands in for another
// facility's gateway (or the secretariat) that answers what a test needs.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <memory>
#include <thread>
#include <vector>

#include "hiegate/transport/credentials.hpp"
#include "hiegate/transport/peer_server.hpp"

namespace hiegate::test {

class FakePeer {
public:
  /// Listens on 127.0.0.1:`port` (0: any free port).
  FakePeer(const std::filesystem::path& pki, const std::filesystem::path& cert_dir,
           std::vector<transport::PeerRoute> routes, std::uint16_t port = 0) {
    transport::CredentialOptions co;
    co.network = "nishitama";
    auto creds = transport::CredentialStore::open(
        {cert_dir / "cert.pem", cert_dir / "key.pem", pki / "ca.crt", pki / "crl.pem"}, co,
        std::chrono::system_clock::now());
    EXPECT_TRUE(creds) << creds.error().message;
    transport::PeerServerOptions opts;
    opts.address = "127.0.0.1";
    opts.port = port;
    server_ = std::make_unique<transport::PeerServer>(ioc_, transport::TlsContext::create(*creds, {}), opts,
                                                      std::move(routes));
    EXPECT_TRUE(server_->start());
    thread_ = std::thread([this] { ioc_.run(); });
  }
  ~FakePeer() {
    server_->stop();
    work_.reset();
    ioc_.stop();
    thread_.join();
  }
  FakePeer(const FakePeer&) = delete;
  FakePeer& operator=(const FakePeer&) = delete;
  [[nodiscard]] std::uint16_t port() const { return server_->port(); }

private:
  boost::asio::io_context ioc_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_ =
      boost::asio::make_work_guard(ioc_);
  std::unique_ptr<transport::PeerServer> server_;
  std::thread thread_;
};

}  // namespace hiegate::test
