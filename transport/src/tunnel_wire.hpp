// Private: the tunnel wire format (docs/tunnels.md "Wire protocol"), PROXY
// protocol v2 headers and the shared bandwidth bucket. No I/O.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/ip/tcp.hpp>

namespace hiegate::transport::tunnel_wire {

inline constexpr std::string_view kHelloPrefix = "HIETUNNEL/1 ";
inline constexpr std::size_t kMaxLine = 128;
inline constexpr std::size_t kHeader = 4;
inline constexpr std::size_t kMaxFrame = 64 * 1024;
inline constexpr std::uint8_t kData = 0;
inline constexpr std::uint8_t kFin = 1;

/// "HIETUNNEL/1 <service>\n"
[[nodiscard]] std::string hello(std::string_view service);
/// The service named by a hello line (without its '\n'); nullopt if malformed.
[[nodiscard]] std::optional<std::string> parse_hello(std::string_view line);
/// "OK\n" or "ERR <code>\n".
[[nodiscard]] std::string reply(std::string_view code);
/// "" for OK, the code for "ERR <code>", nullopt if malformed.
[[nodiscard]] std::optional<std::string> parse_reply(std::string_view line);

/// Frame header: type (1 byte), payload length (3 bytes, big-endian).
[[nodiscard]] std::array<std::uint8_t, kHeader> frame_header(std::uint8_t type, std::size_t len);
struct Frame {
  std::uint8_t type;
  std::size_t len;
};
/// Parses and validates a header: data 1..kMaxFrame, fin 0; nullopt otherwise.
[[nodiscard]] std::optional<Frame> parse_header(const std::uint8_t* p);

/// PROXY protocol v2 "PROXY" header for a TCP connection from `src` to `dst`,
/// with TLVs 0xE0 (caller facility code) and 0xE1 (caller identity URI).
[[nodiscard]] std::string proxy_v2(const boost::asio::ip::tcp::endpoint& src,
                                   const boost::asio::ip::tcp::endpoint& dst, std::string_view facility,
                                   std::string_view identity_uri);

/// A token bucket shared by a tunnel's connections (one second of burst).
/// Thread-safe.
class RateLimiter {
public:
  using Clock = std::chrono::steady_clock;
  explicit RateLimiter(std::uint64_t bytes_per_sec) : rate_(static_cast<double>(bytes_per_sec)) {}
  /// Takes `n` bytes; returns how long to wait before sending them.
  [[nodiscard]] Clock::duration take(std::size_t n, Clock::time_point now);

private:
  std::mutex mu_;
  double rate_;
  double tokens_ = 0;
  std::optional<Clock::time_point> last_;
};

}  // namespace hiegate::transport::tunnel_wire
