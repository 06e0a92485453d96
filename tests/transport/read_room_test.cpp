// Read sizes for a large HTTP body (transport/read_room.hpp): Beast reads
// the buffer's free capacity at a time, so without room a body is read in
// 512-byte steps.
#include <gtest/gtest.h>

#include <boost/asio/buffer.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <string>

#include "hiegate/transport/read_room.hpp"

namespace read_room_test {
namespace http = boost::beast::http;
using hiegate::transport::kIdleBufferMax;
using hiegate::transport::kReadRoom;
using hiegate::transport::make_read_room;
using hiegate::transport::trim_read_room;

/// A synchronous stream over a string that counts its reads and returns
/// as much as it is asked for (a socket with all bytes already arrived).
struct CountingStream {
  std::string data;
  std::size_t pos = 0;
  int reads = 0;
  template <class MutableBufferSequence>
  std::size_t read_some(const MutableBufferSequence& b, boost::system::error_code& ec) {
    ++reads;
    if (pos == data.size()) {
      ec = boost::asio::error::eof;
      return 0;
    }
    const std::size_t n = boost::asio::buffer_copy(b, boost::asio::buffer(data.data() + pos, data.size() - pos));
    pos += n;
    return n;
  }
  template <class MutableBufferSequence>
  std::size_t read_some(const MutableBufferSequence& b) {
    boost::system::error_code ec;
    return read_some(b, ec);
  }
};

std::string response(std::size_t body) {
  return "HTTP/1.1 200 OK\r\nContent-Type: application/pdf\r\nContent-Length: " + std::to_string(body) +
         "\r\n\r\n" + std::string(body, 'x');
}

int reads_for(std::size_t body, bool room) {
  CountingStream s{response(body)};
  boost::beast::flat_buffer buf;
  http::response_parser<http::string_body> parser;
  parser.body_limit(body + 1);
  if (room) make_read_room(buf);
  boost::system::error_code ec;
  http::read(s, buf, parser, ec);
  EXPECT_FALSE(ec) << ec.message();
  EXPECT_EQ(parser.get().body().size(), body);
  return s.reads;
}

TEST(ReadRoom, ALargeBodyIsReadInTlsSizedSteps) {
  constexpr std::size_t kBody = 1 << 20;
  // Without room Beast asks for 512 bytes at a time: thousands of reads.
  EXPECT_GT(reads_for(kBody, false), 1000);
  // With it, one read per 64 KiB (and one for what the headers left over).
  EXPECT_LE(reads_for(kBody, true), static_cast<int>(kBody / kReadRoom) + 2);
  // A 10 KiB document in one read.
  EXPECT_EQ(reads_for(10 * 1024, true), 1);
}

TEST(ReadRoom, RoomFollowsTheExpectedSizeAndIsGivenBackWhenIdle) {
  boost::beast::flat_buffer buf;
  make_read_room(buf, 3000);
  EXPECT_GE(buf.capacity(), 3000u);
  EXPECT_LT(buf.capacity(), 4096u);  // a small body gets a small buffer
  make_read_room(buf, 10'000'000);
  EXPECT_GE(buf.capacity(), kReadRoom);
  EXPECT_LT(buf.capacity(), 2 * kReadRoom);  // never more than one read's worth
  // Bytes of the next message already read survive the trim.
  const std::string next = "HTTP/1.1 200 OK\r\n";
  buf.commit(boost::asio::buffer_copy(buf.prepare(next.size()), boost::asio::buffer(next)));
  trim_read_room(buf);
  EXPECT_LE(buf.capacity(), kIdleBufferMax);
  EXPECT_EQ(boost::beast::buffers_to_string(buf.data()), next);
  // A small buffer is kept as it is.
  boost::beast::flat_buffer small;
  make_read_room(small, 1024);
  const auto cap = small.capacity();
  trim_read_room(small);
  EXPECT_EQ(small.capacity(), cap);
}

}  // namespace read_room_test
