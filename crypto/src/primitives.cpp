#include "hiegate/crypto/primitives.hpp"

#include <pthread.h>
#include <sodium.h>

#include <array>
#include <cstring>
#include <mutex>

namespace hiegate::crypto {

namespace {
// A getrandom() system call per seal was a tenth of the audit writer's time.
struct RandomPool {
  std::array<std::uint8_t, kRandomPoolBytes> bytes{};
  std::size_t used = kRandomPoolBytes;
};
thread_local RandomPool random_pool;
std::once_flag random_fork_guard;
}  // namespace

void pooled_random_bytes(std::span<std::uint8_t> out) {
  std::call_once(random_fork_guard, [] {
    // The child has only the thread that forked: its pool is the one to drop.
    ::pthread_atfork(nullptr, nullptr, [] { random_pool.used = random_pool.bytes.size(); });
  });
  if (out.size() > kRandomPoolBytes) return random_bytes(out);
  auto& p = random_pool;
  if (kRandomPoolBytes - p.used < out.size()) {
    (void)init();
    randombytes_buf(p.bytes.data(), p.bytes.size());
    p.used = 0;
  }
  std::memcpy(out.data(), p.bytes.data() + p.used, out.size());
  sodium_memzero(p.bytes.data() + p.used, out.size());  // handed out once
  p.used += out.size();
}

bool init() {
  // sodium_init() is thread-safe and returns 1 when already initialised.
  static const bool ok = sodium_init() >= 0;
  return ok;
}

Sha256 sha256(ByteView data) {
  Sha256 out{};
  crypto_hash_sha256(out.data(), data.data(), data.size());
  return out;
}

void random_bytes(std::span<std::uint8_t> out) {
  (void)init();
  randombytes_buf(out.data(), out.size());
}

Bytes random_bytes(std::size_t n) {
  Bytes out(n);
  random_bytes(std::span<std::uint8_t>(out));
  return out;
}

bool equal_constant_time(ByteView a, ByteView b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace hiegate::crypto
