// Fixed-size buffer for key material.
//
// Memory comes from sodium_malloc: guard pages, mlock()ed (never swapped),
// excluded from core dumps where the kernel supports MADV_DONTDUMP, and wiped
// by sodium_free on destruction. Move-only; an empty (moved-from) buffer has
// size 0. Thread-safety: concurrent reads are safe; protect() and
// unprotect() change page protections and must not race with any access.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace hiegate::crypto {

class SecureBuffer {
public:
  SecureBuffer() = default;
  /// Allocates `size` zeroed bytes; throws std::bad_alloc if sodium_malloc fails.
  explicit SecureBuffer(std::size_t size);
  ~SecureBuffer();
  SecureBuffer(SecureBuffer&& other) noexcept;
  SecureBuffer& operator=(SecureBuffer&& other) noexcept;
  SecureBuffer(const SecureBuffer&) = delete;
  SecureBuffer& operator=(const SecureBuffer&) = delete;

  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  [[nodiscard]] const std::uint8_t* data() const noexcept { return data_; }
  /// Writable view; only valid while the buffer is not protect()ed.
  [[nodiscard]] std::span<std::uint8_t> writable() noexcept { return {data_, size_}; }
  [[nodiscard]] std::span<const std::uint8_t> view() const noexcept { return {data_, size_}; }

  /// Makes the pages read-only (sodium_mprotect_readonly): a stray write faults.
  void protect() noexcept;
  /// Makes the pages writable again.
  void unprotect() noexcept;

private:
  std::uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
};

/// Zeroes `size` bytes in a way the compiler cannot elide (sodium_memzero).
void wipe(void* data, std::size_t size) noexcept;

/// A small short-lived secret kept inline: a stream cipher's state, which
/// holds a key derived for one stream from a SecureBuffer subkey. Wiped on
/// destruction and when moved from. It has no pages of its own on purpose:
/// an mmap, mprotect, mlock and munmap per stream (each protection change a
/// TLB shootdown across the daemon's threads) cost more than one request's
/// whole crypto, and the long-lived keys it derives from stay guarded.
template <std::size_t N>
class WipedArray {
public:
  WipedArray() noexcept { data_.fill(0); }
  ~WipedArray() { wipe(data_.data(), N); }
  WipedArray(WipedArray&& o) noexcept : data_(o.data_) { wipe(o.data_.data(), N); }
  WipedArray& operator=(WipedArray&& o) noexcept {
    if (this != &o) {
      data_ = o.data_;
      wipe(o.data_.data(), N);
    }
    return *this;
  }
  WipedArray(const WipedArray&) = delete;
  WipedArray& operator=(const WipedArray&) = delete;
  [[nodiscard]] std::uint8_t* data() noexcept { return data_.data(); }

private:
  alignas(16) std::array<std::uint8_t, N> data_;
};

}  // namespace hiegate::crypto
