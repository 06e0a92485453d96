#include "support/http_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/beast/core/error.hpp>
#include <boost/beast/http.hpp>
#include <cstring>
#include <sstream>

namespace hiegate::test {

namespace {

int connect_to(const Endpoint& ep) {
  if (ep.where.starts_with("unix:")) {
    const std::string path = ep.where.substr(5);
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::strncpy(sa.sun_path, path.c_str(), sizeof(sa.sun_path) - 1);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
      ::close(fd);
      return -1;
    }
    return fd;
  }
  const auto colon = ep.where.rfind(':');
  std::string host = ep.where.substr(0, colon);
  const int port = std::stoi(ep.where.substr(colon + 1));
  if (host.size() > 2 && host.front() == '[') {
    host = host.substr(1, host.size() - 2);
    const int fd = ::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in6 sa{};
    sa.sin6_family = AF_INET6;
    sa.sin6_port = htons(static_cast<uint16_t>(port));
    ::inet_pton(AF_INET6, host.c_str(), &sa.sin6_addr);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
      ::close(fd);
      return -1;
    }
    return fd;
  }
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(port));
  ::inet_pton(AF_INET, host.c_str(), &sa.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

RawConn::RawConn(const Endpoint& ep) : fd_(connect_to(ep)) {}
RawConn::~RawConn() {
  if (fd_ >= 0) ::close(fd_);
}

bool RawConn::send(const std::string& data) {
  std::size_t off = 0;
  while (off < data.size()) {
    const ssize_t n = ::send(fd_, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += static_cast<std::size_t>(n);
  }
  return true;
}

std::string RawConn::read_some(std::chrono::milliseconds timeout) {
  if (timeout.count() <= 0) return {};
  pollfd p{fd_, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return {};
  char buf[16384];
  const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
  if (n <= 0) return {};
  return std::string(buf, static_cast<std::size_t>(n));
}

std::string RawConn::read_all(std::chrono::milliseconds timeout) {
  std::string out;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
    char buf[8192];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

bool RawConn::closed_by_peer(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
    char buf[4096];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) return true;
  }
}

int status_of(const std::string& raw) {
  if (raw.size() < 12 || !raw.starts_with("HTTP/1.1 ")) return 0;
  return std::atoi(raw.substr(9, 3).c_str());
}

HttpResult http_request(const Endpoint& ep, const std::string& method, const std::string& target,
                        const std::map<std::string, std::string>& headers, const std::string& body,
                        std::chrono::milliseconds timeout) {
  namespace http = boost::beast::http;
  HttpResult r;
  RawConn c(ep);
  if (!c.ok()) {
    r.error = "cannot connect to " + ep.where;
    return r;
  }
  http::request<http::string_body> req{http::string_to_verb(method), target, 11};
  req.set(http::field::host, "localhost");
  for (const auto& [k, v] : headers) req.set(k, v);
  req.body() = body;
  req.prepare_payload();
  req.keep_alive(false);
  std::ostringstream ss;
  ss << req;
  c.send(ss.str());
  http::response_parser<http::string_body> parser;
  parser.body_limit(256 * 1024 * 1024);
  boost::beast::error_code ec;
  // Feed the parser as bytes arrive; stop at the end of the response.
  std::string raw;
  std::size_t used = 0;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  bool eof = false;
  while (!parser.is_done() && !ec) {
    if (used == raw.size()) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      const std::string more = c.read_some(left);
      if (more.empty()) {
        eof = true;
        break;
      }
      raw += more;
    }
    const std::size_t n = parser.put(boost::asio::buffer(raw.data() + used, raw.size() - used), ec);
    if (ec == http::error::need_more) {
      ec = {};
      if (n == 0) {
        const std::string more = c.read_some(std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now()));
        if (more.empty()) {
          eof = true;
          break;
        }
        raw += more;
      }
    }
    used += n;
  }
  if (eof && parser.is_header_done() && !parser.is_done()) parser.put_eof(ec);
  if (ec) {
    r.error = "bad response: " + ec.message();
    r.status = status_of(raw);
    return r;
  }
  if (!parser.is_header_done()) {
    r.error = "no response";
    return r;
  }
  const auto& res = parser.get();
  r.status = static_cast<int>(res.result_int());
  r.body = res.body();
  for (const auto& f : res) {
    std::string name(f.name_string());
    for (char& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    r.headers[name] = std::string(f.value());
  }
  return r;
}

}  // namespace hiegate::test
