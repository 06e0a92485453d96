// Read sizes for Beast's flat_buffer. Beast reads a message with reads of the
// buffer's free capacity (at least 512 bytes, at most 64 KiB), and a
// flat_buffer only grows by what each read asks for: a buffer that held
// only headers reads a 10 KiB body in about twenty reads and a 4 MiB one in
// 8,192, each a full asynchronous round (through the TLS strand for peer
// connections). These two helpers give a read the room of one TLS read and
// give the memory back once the connection is idle.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

namespace hiegate::transport {

/// Room for one read: the TLS layer's largest read (64 KiB), as much as
/// Beast will ask for.
inline constexpr std::size_t kReadRoom = 64 * 1024;
/// A buffer larger than this is released between messages.
inline constexpr std::size_t kIdleBufferMax = 16 * 1024;

/// Before reading a message (or its body) of about `expected` more bytes:
/// free capacity for min(expected, kReadRoom) bytes.
template <class FlatBuffer>
void make_read_room(FlatBuffer& b, std::uint64_t expected = kReadRoom) {
  const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(expected, kReadRoom));
  if (b.capacity() - b.size() < want) b.reserve(b.size() + want);
}

/// Between messages: a grown buffer is released (bytes already read of the
/// next message are kept).
template <class FlatBuffer>
void trim_read_room(FlatBuffer& b) {
  if (b.capacity() > kIdleBufferMax) b.shrink_to_fit();
}

}  // namespace hiegate::transport
