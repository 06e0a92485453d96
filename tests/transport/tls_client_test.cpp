// The TLS stream as a client against openssl s_server as an independent peer.
#include <gtest/gtest.h>

#include <boost/beast/core/stream_traits.hpp>

#include <thread>

#include "tls_fixture.hpp"

namespace hiegate::transport::testing {
namespace {

// Beast HTTP runs on it: it models AsyncReadStream and AsyncWriteStream.
static_assert(boost::beast::is_async_stream<TlsStream>::value);

class TlsClient : public ::testing::Test {
protected:
  /// Starts `openssl s_server` with the credentials in `d` for two
  /// connections: the readiness probe below, then the test's.
  void start_server(const fs::path& d, const std::vector<std::string>& extra = {}) {
    {
      asio::ip::tcp::acceptor probe(ioc, {asio::ip::make_address("127.0.0.1"), 0});
      port = probe.local_endpoint().port();
    }
    std::vector<std::string> argv = {"openssl", "s_server", "-accept", "127.0.0.1:" + std::to_string(port),
                                     "-naccept", "2", "-cert", (d / "cert.pem").string(), "-key",
                                     (d / "key.pem").string(), "-Verify", "2", "-CAfile",
                                     (pki.ca_dir() / "ca.crt").string(), "-rev"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    server.emplace(argv, "", pki.dir / "s_server.log");
    for (int i = 0; i < 200; ++i) {  // wait until it listens
      asio::ip::tcp::socket s(ioc);
      boost::system::error_code ec;
      s.connect({asio::ip::make_address("127.0.0.1"), port}, ec);
      if (!ec) return;  // listening; the next connection waits in the backlog
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    FAIL() << "s_server did not start";
  }

  struct Outcome {
    bool done = false;
    boost::system::error_code ec;
    std::optional<Error> error;
    std::optional<PeerIdentity> peer;
    std::string reply;
  };

  /// Connects as facility 0 expecting `expected`, sends a line, reads the reply.
  Outcome call(const PeerIdentity& expected) {
    auto ctx = TlsContext::create(pki.store(pki.facility_dir(0)), TlsSettings{});
    asio::ip::tcp::socket sock(ioc);
    sock.connect({asio::ip::make_address("127.0.0.1"), port});
    auto stream = std::make_shared<TlsStream>(std::move(sock), ctx, TlsRole::client, expected);
    stream->expires_after(std::chrono::seconds(3));
    Outcome out;
    auto buf = std::make_shared<std::array<char, 256>>();
    stream->async_handshake([&, stream, buf](boost::system::error_code ec) {
      out.ec = ec;
      out.peer = stream->peer();
      out.error = stream->last_error();
      if (ec) {
        out.done = true;
        return;
      }
      static const std::string line = "hello\n";
      asio::async_write(*stream, asio::buffer(line), [&, stream, buf](boost::system::error_code wec, std::size_t) {
        if (wec) {
          out.ec = wec;
          out.done = true;
          return;
        }
        stream->async_read_some(asio::buffer(*buf), [&, stream, buf](boost::system::error_code rec, std::size_t n) {
          out.ec = rec;
          out.reply.assign(buf->data(), n);
          stream->async_shutdown([&, stream](boost::system::error_code) { out.done = true; });
        });
      });
    });
    run_until(ioc, [&] { return out.done; });
    return out;
  }

  Pki pki;
  asio::io_context ioc;
  std::uint16_t port = 0;
  std::optional<Child> server;
};

TEST_F(TlsClient, TalksToTheFacilityItMeant) {
  start_server(pki.facility_dir(1));
  auto out = call(pki.facility(1));
  ASSERT_FALSE(out.ec) << out.ec.message() << " " << (out.error ? out.error->message : "");
  EXPECT_EQ(out.peer, pki.facility(1));
  EXPECT_EQ(out.reply, "olleh\n");
}

TEST_F(TlsClient, RefusesAnotherIdentity) {
  start_server(pki.net.secretariat_dir);
  auto out = call(pki.facility(1));
  EXPECT_EQ(out.ec, TlsErrc::wrong_peer);
  EXPECT_FALSE(out.peer);
}

TEST_F(TlsClient, RefusesTls13OnlyServer) {
  start_server(pki.facility_dir(1), {"-tls1_3"});
  auto out = call(pki.facility(1));
  EXPECT_TRUE(out.ec == TlsErrc::peer_alert || out.ec == TlsErrc::handshake_failed) << out.ec.message();
  EXPECT_FALSE(out.peer);
}

}  // namespace
}  // namespace hiegate::transport::testing
