// The mutual-TLS transport against stunnel4, same machine, same run, same
// dev PKI, suites and groups:
//   - full and resumed handshakes per second, driven by `openssl s_time`
//     (one independent client for both servers; it marks reused sessions);
//   - bulk throughput through one connection and idle memory per connection
//     (server RSS delta over N idle connections), driven by hiegate's own
//     TLS client for both servers.
// The hiegate server runs in a child process (PeerServer on one port, a raw
// TlsStream sink on another) so that its RSS is its own; stunnel4 terminates
// TLS in front of a plain backend (echo / length-prefixed sink).
//   build/bench/bench_mtls [seconds=3] [MiB=256] [idle=200]
#include <boost/asio.hpp>
#include <boost/asio/use_future.hpp>
#include <botan/aead.h>

#include <array>
#include <cstdio>
#include <memory>
#include <optional>

#include "bench_net.hpp"
#include "hiegate/transport/peer_server.hpp"
#include "hiegate/transport/tls_stream.hpp"

namespace {
using namespace hiegate::transport;
using namespace hiegate::bench;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// --- the hiegate side, in a child process ---

/// Accepts on `acc`; per connection: handshake, then the length-prefixed sink.
void sink_accept(tcp::acceptor& acc, std::shared_ptr<TlsContext> ctx) {
  acc.async_accept([&acc, ctx](boost::system::error_code ec, tcp::socket s) {
    if (ec) return;
    sink_accept(acc, ctx);
    struct Conn {
      Conn(tcp::socket sock, std::shared_ptr<TlsContext> c) : stream(std::move(sock), std::move(c), TlsRole::server) {}
      TlsStream stream;
      std::array<char, 64 * 1024> buf{};
      std::size_t have = 0;
      std::uint64_t want = 0, got = 0;
      void read(const std::shared_ptr<Conn>& self) {
        stream.async_read_some(asio::buffer(buf.data() + have, buf.size() - have),
                               [self](boost::system::error_code rec, std::size_t n) {
                                 if (rec) return;
                                 if (self->have < kSinkHeader) {
                                   self->have += n;
                                   if (self->have < kSinkHeader) return self->read(self);
                                   self->want = sink_length(self->buf.data());
                                   self->got = self->have - kSinkHeader;
                                   self->have = kSinkHeader;  // from now on reads land after the header
                                 } else {
                                   self->got += n;
                                 }
                                 if (self->got < self->want) return self->read(self);
                                 asio::async_write(self->stream, asio::buffer(&self->got, 8),
                                                   [self](boost::system::error_code, std::size_t) {});
                               });
      }
    };
    auto c = std::make_shared<Conn>(std::move(s), ctx);
    c->stream.async_handshake([c](boost::system::error_code hec) {
      if (!hec) c->read(c);
    });
  });
}

/// Forks the hiegate server; writes its two ports to the returned pipe end.
pid_t spawn_hiegate(const BenchPki& pki, std::size_t max_conns, std::uint16_t* peer_port, std::uint16_t* sink_port) {
  int fds[2];
  if (::pipe(fds) != 0) std::abort();
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    asio::io_context io;
    auto ctx = TlsContext::create(pki.store(1), {});
    PeerServerOptions po;
    po.address = "127.0.0.1";
    po.port = 0;
    po.max_connections = max_conns;
    PeerServer server(io, ctx, po, {});
    if (!server.start()) ::_exit(1);
    tcp::acceptor sink(io, {asio::ip::make_address("127.0.0.1"), 0});
    sink_accept(sink, ctx);
    const std::uint16_t ports[2] = {server.port(), sink.local_endpoint().port()};
    (void)!::write(fds[1], ports, sizeof ports);
    ::close(fds[1]);
    io.run();
    ::_exit(0);
  }
  ::close(fds[1]);
  std::uint16_t ports[2] = {0, 0};
  (void)!::read(fds[0], ports, sizeof ports);
  ::close(fds[0]);
  *peer_port = ports[0];
  *sink_port = ports[1];
  return pid;
}

// --- the measurements ---

struct Handshakes {
  double per_s = 0;
  int count = 0, reused = 0;
};

/// `openssl s_time` for `seconds` against `port` with facility 0's
/// credentials; `reuse`: resume the first session.
Handshakes s_time(const BenchPki& pki, std::uint16_t port, int seconds, bool reuse) {
  const auto fac = pki.facility(0);
  const std::string cmd = "openssl s_time -connect 127.0.0.1:" + std::to_string(port) + " -tls1_2 -time " +
                          std::to_string(seconds) + (reuse ? " -reuse" : " -new") + " -cert " +
                          (fac / "cert.pem").string() + " -key " + (fac / "key.pem").string() + " -CAfile " +
                          (pki.net.ca_dir / "ca.crt").string() + " 2>&1";
  const auto t0 = Clock::now();
  std::FILE* p = ::popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  ::pclose(p);
  const double wall = std::chrono::duration<double>(Clock::now() - t0).count();
  Handshakes h;
  // "N connections in M real seconds" (one line per mode).
  const auto at = out.find(" connections in ");
  const auto line = out.rfind('\n', at);
  if (at != std::string::npos) h.count = std::atoi(out.c_str() + (line == std::string::npos ? 0 : line + 1));
  // Progress marks: 'r' per resumed connection, '*' per full one.
  std::size_t from = 0;
  while (from < at) {
    const auto eol = std::min(out.find('\n', from), at);
    const std::string l = out.substr(from, eol - from);
    if (!l.empty() && l.find_first_not_of("r*") == std::string::npos)
      for (const char c : l) h.reused += c == 'r';
    from = eol + 1;
  }
  h.per_s = h.count / wall;
  if (h.count == 0) std::fprintf(stderr, "s_time: %s\n", out.c_str());
  return h;
}

/// hiegate's TLS client, driven synchronously from main (the io runs on its
/// own thread).
class Client {
public:
  explicit Client(const BenchPki& pki) : pki_(pki), ctx_(TlsContext::create(pki.store(0), {})) {
    thread_ = std::thread([this] { io_.run(); });
  }
  ~Client() {
    work_.reset();
    io_.stop();
    thread_.join();
  }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  /// A handshaken connection, or null (the reason on stderr).
  std::unique_ptr<TlsStream> connect(std::uint16_t port) {
    try {
      tcp::socket s(io_);
      s.connect({asio::ip::make_address("127.0.0.1"), port});
      s.set_option(tcp::no_delay(true));
      auto st = std::make_unique<TlsStream>(std::move(s), ctx_, TlsRole::client, pki_.identity(1));
      st->async_handshake(asio::use_future).get();  // throws on failure
      return st;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "connect: %s\n", e.what());
      return nullptr;
    }
  }

  /// MiB/s of `mib` MiB through one connection into the length-prefixed sink.
  double throughput(std::uint16_t port, std::size_t mib) {
    auto st = connect(port);
    if (!st) return 0;
    std::vector<char> chunk(1 << 20, 'x');
    std::array<char, kSinkHeader> head{kSinkTag};
    const std::uint64_t total = static_cast<std::uint64_t>(mib) << 20;
    std::memcpy(head.data() + 1, &total, 8);
    const auto t0 = Clock::now();
    std::uint64_t got = 0;
    try {
      asio::async_write(*st, asio::buffer(head), asio::use_future).get();
      for (std::size_t i = 0; i < mib; ++i) asio::async_write(*st, asio::buffer(chunk), asio::use_future).get();
      asio::async_read(*st, asio::buffer(&got, 8), asio::use_future).get();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "throughput: %s\n", e.what());
    }
    const double s = std::chrono::duration<double>(Clock::now() - t0).count();
    if (got != total) std::fprintf(stderr, "sink count mismatch: %llu\n", static_cast<unsigned long long>(got));
    st->close();
    return static_cast<double>(mib) / s;
  }

private:
  const BenchPki& pki_;
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_ = asio::make_work_guard(io_);
  std::shared_ptr<TlsContext> ctx_;
  std::thread thread_;
};

/// KiB of server RSS per idle connection: `n` handshaken connections held open.
double idle_kib(Client& client, pid_t server, std::uint16_t port, int n) {
  std::vector<std::unique_ptr<TlsStream>> open;
  open.push_back(client.connect(port));  // warm-up: first-use allocations are not per connection
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const long before = rss_kib(server);
  for (int i = 0; i < n; ++i) {
    auto st = client.connect(port);
    if (!st) return -1;
    open.push_back(std::move(st));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const long after = rss_kib(server);
  for (auto& s : open)
    if (s) s->close();
  return static_cast<double>(after - before) / n;
}

/// Botan's own sealing speed with the suite the gateways pick over 16 KiB
/// records (MiB/s): the ceiling for the record layer.
double aead_mib_s(std::size_t mib) {
  auto aead = Botan::AEAD_Mode::create_or_throw(hiegate::transport::tls_cipher_preference().front(), Botan::ENCRYPTION);
  std::vector<uint8_t> key(aead->key_spec().maximum_keylength(), 1), nonce(12, 0);
  aead->set_key(key);
  Botan::secure_vector<uint8_t> rec(16 * 1024, 'x');
  const std::size_t records = mib * 64;
  const auto t0 = Clock::now();
  for (std::size_t i = 0; i < records; ++i) {
    nonce[0] = static_cast<uint8_t>(i);
    nonce[1] = static_cast<uint8_t>(i >> 8);
    aead->start(nonce);
    rec.resize(16 * 1024);
    aead->finish(rec);
  }
  return static_cast<double>(mib) / std::chrono::duration<double>(Clock::now() - t0).count();
}

struct Row {
  Handshakes full, resumed;
  double mib_s = 0, idle = 0;
};

void print(const char* name, const Row& r) {
  std::printf("| %-8s | %8.0f | %8.0f (%d/%d reused) | %7.0f | %7.1f |\n", name, r.full.per_s, r.resumed.per_s,
              r.resumed.reused, r.resumed.count, r.mib_s, r.idle);
}

}  // namespace

int main(int argc, char** argv) {
  const int seconds = argc > 1 ? std::atoi(argv[1]) : 3;
  const std::size_t mib = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 256;
  const int idle = argc > 3 ? std::atoi(argv[3]) : 200;
  if (seconds <= 0 || seconds > 60 || mib == 0 || mib > 4096 || idle <= 0 || idle > 400)
    return std::fprintf(stderr, "usage: bench_mtls [seconds 1-60] [MiB 1-4096] [idle 1-400]\n"), 2;
  const BenchPki pki("bench_mtls", 2);

  Row ours, theirs;
  std::uint16_t peer_port = 0, sink_port = 0;
  const pid_t server = spawn_hiegate(pki, static_cast<std::size_t>(idle) + 16, &peer_port, &sink_port);
  Backend backend;  // threads only after the fork
  {
    Client client(pki);
    ours.full = s_time(pki, peer_port, seconds, false);
    ours.resumed = s_time(pki, peer_port, seconds, true);
    ours.mib_s = client.throughput(sink_port, mib);
    ours.idle = idle_kib(client, server, peer_port, idle);
  }
  ::kill(server, SIGTERM);
  ::waitpid(server, nullptr, 0);
  {
    const std::uint16_t port = free_port();
    const Stunnel st(pki, "srv", 1, false, port, backend.port());
    if (!st.ready()) return std::fprintf(stderr, "stunnel4 did not start\n"), 1;
    Client client(pki);
    theirs.full = s_time(pki, port, seconds, false);
    theirs.resumed = s_time(pki, port, seconds, true);
    theirs.mib_s = client.throughput(port, mib);
    theirs.idle = idle_kib(client, st.pid(), port, idle);
  }
  std::printf("s_time %d s per mode; %zu MiB through one connection; %d idle connections\n\n", seconds, mib, idle);
  std::printf("| server   | full hs/s | resumed hs/s              |   MiB/s | idle KiB/conn |\n");
  std::printf("|----------|----------:|--------------------------:|--------:|--------------:|\n");
  print("hiegate", ours);
  print("stunnel4", theirs);
  std::printf("\nratios hiegate/stunnel4: full %.2f, resumed %.2f, MiB/s %.2f, idle memory %.2f\n",
              ours.full.per_s / theirs.full.per_s, ours.resumed.per_s / theirs.resumed.per_s,
              ours.mib_s / theirs.mib_s, ours.idle / theirs.idle);
  const std::string& suite = hiegate::transport::tls_cipher_preference().front();
  std::printf("Botan %s seal, 16 KiB records: %.0f MiB/s\n", suite.c_str(), aead_mib_s(std::min<std::size_t>(mib, 512)));
  // Summary lines for scripts/bench (higher is better in every ratio).
  std::printf("RATIO|mutual TLS: full handshakes/s|stunnel4|%.2f|\n", ours.full.per_s / theirs.full.per_s);
  std::printf("RATIO|mutual TLS: resumed handshakes/s|stunnel4|%.2f|>= 1.0\n", ours.resumed.per_s / theirs.resumed.per_s);
  std::printf("RATIO|mutual TLS: bulk MiB/s|stunnel4|%.2f|\n", ours.mib_s / theirs.mib_s);
  std::printf("RATIO|mutual TLS: idle memory per connection (theirs/ours)|stunnel4|%.2f|\n", theirs.idle / ours.idle);
  return 0;
}
