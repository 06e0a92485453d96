#include "hiegate/crypto/secure_buffer.hpp"

#include <sodium.h>

#include <new>
#include <utility>

#include "hiegate/crypto/primitives.hpp"

namespace hiegate::crypto {

SecureBuffer::SecureBuffer(std::size_t size) {
  if (!init()) throw std::bad_alloc();
  if (size == 0) return;
  void* p = sodium_malloc(size);
  if (p == nullptr) throw std::bad_alloc();
  data_ = static_cast<std::uint8_t*>(p);
  size_ = size;
  sodium_memzero(data_, size_);
}

SecureBuffer::~SecureBuffer() {
  if (data_ != nullptr) {
    sodium_mprotect_readwrite(data_);
    sodium_free(data_);  // wipes before unmapping
  }
}

SecureBuffer::SecureBuffer(SecureBuffer&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}

SecureBuffer& SecureBuffer::operator=(SecureBuffer&& other) noexcept {
  if (this != &other) {
    SecureBuffer old(std::move(*this));
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

void wipe(void* data, std::size_t size) noexcept { sodium_memzero(data, size); }

void SecureBuffer::protect() noexcept {
  if (data_ != nullptr) sodium_mprotect_readonly(data_);
}

void SecureBuffer::unprotect() noexcept {
  if (data_ != nullptr) sodium_mprotect_readwrite(data_);
}

}  // namespace hiegate::crypto
