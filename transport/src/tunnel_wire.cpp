#include "tunnel_wire.hpp"

#include <algorithm>

#include "hiegate/transport/tunnel.hpp"

namespace hiegate::transport::tunnel_wire {

std::string hello(std::string_view service) { return std::string(kHelloPrefix) + std::string(service) + "\n"; }

std::optional<std::string> parse_hello(std::string_view line) {
  if (!line.starts_with(kHelloPrefix)) return std::nullopt;
  const std::string_view name = line.substr(kHelloPrefix.size());
  if (!is_service_name(name)) return std::nullopt;
  return std::string(name);
}

std::string reply(std::string_view code) { return code.empty() ? "OK\n" : "ERR " + std::string(code) + "\n"; }

std::optional<std::string> parse_reply(std::string_view line) {
  if (line == "OK") return std::string();
  if (!line.starts_with("ERR ") || line.size() == 4 || line.size() > 68) return std::nullopt;
  const std::string_view code = line.substr(4);
  if (!std::all_of(code.begin(), code.end(), [](char c) { return (c >= 'a' && c <= 'z') || c == '_'; }))
    return std::nullopt;
  return std::string(code);
}

std::array<std::uint8_t, kHeader> frame_header(std::uint8_t type, std::size_t len) {
  return {type, static_cast<std::uint8_t>(len >> 16), static_cast<std::uint8_t>(len >> 8),
          static_cast<std::uint8_t>(len)};
}

std::optional<Frame> parse_header(const std::uint8_t* p) {
  const Frame f{p[0], (std::size_t{p[1]} << 16) | (std::size_t{p[2]} << 8) | p[3]};
  if (f.type == kData && f.len > 0 && f.len <= kMaxFrame) return f;
  if (f.type == kFin && f.len == 0) return f;
  return std::nullopt;
}

namespace {
void put16(std::string& out, std::size_t v) {
  out.push_back(static_cast<char>((v >> 8) & 0xff));
  out.push_back(static_cast<char>(v & 0xff));
}
void tlv(std::string& out, std::uint8_t type, std::string_view value) {
  out.push_back(static_cast<char>(type));
  put16(out, value.size());
  out.append(value);
}
}  // namespace

std::string proxy_v2(const boost::asio::ip::tcp::endpoint& src, const boost::asio::ip::tcp::endpoint& dst,
                     std::string_view facility, std::string_view identity_uri) {
  static constexpr char kSig[] = "\r\n\r\n\0\r\nQUIT\n";
  std::string addrs;
  std::uint8_t fam = 0x11;  // TCP over IPv4
  auto s = src.address(), d = dst.address();
  if (s.is_v4() && d.is_v4()) {
    const auto a = s.to_v4().to_bytes(), b = d.to_v4().to_bytes();
    addrs.append(reinterpret_cast<const char*>(a.data()), a.size());
    addrs.append(reinterpret_cast<const char*>(b.data()), b.size());
  } else {
    fam = 0x21;  // TCP over IPv6 (v4 addresses mapped)
    const auto to6 = [](const boost::asio::ip::address& x) {
      return x.is_v6() ? x.to_v6() : boost::asio::ip::make_address_v6(boost::asio::ip::v4_mapped, x.to_v4());
    };
    const auto a = to6(s).to_bytes(), b = to6(d).to_bytes();
    addrs.append(reinterpret_cast<const char*>(a.data()), a.size());
    addrs.append(reinterpret_cast<const char*>(b.data()), b.size());
  }
  put16(addrs, src.port());
  put16(addrs, dst.port());
  tlv(addrs, 0xE0, facility);
  tlv(addrs, 0xE1, identity_uri);
  std::string out(kSig, sizeof kSig - 1);
  out.push_back(static_cast<char>(0x21));  // version 2, PROXY
  out.push_back(static_cast<char>(fam));
  put16(out, addrs.size());
  out += addrs;
  return out;
}

RateLimiter::Clock::duration RateLimiter::take(std::size_t n, Clock::time_point now) {
  std::lock_guard lock(mu_);
  if (last_) {
    const double secs = std::chrono::duration<double>(now - *last_).count();
    tokens_ = std::min(rate_, tokens_ + secs * rate_);  // burst: one second
  } else {
    tokens_ = rate_;
  }
  last_ = now;
  tokens_ -= static_cast<double>(n);
  if (tokens_ >= 0) return Clock::duration::zero();
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(-tokens_ / rate_));
}

}  // namespace hiegate::transport::tunnel_wire
