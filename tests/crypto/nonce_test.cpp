// Nonces of sealed records: drawn from the CSPRNG in batches, never handed
// out twice — not within a process, and not to a forked child and its parent.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <set>

#include "hiegate/crypto/primitives.hpp"
#include "hiegate/crypto/sealed.hpp"

namespace hiegate::crypto {
namespace {

Bytes nonce_of(const Bytes& sealed) { return {sealed.begin() + 9, sealed.begin() + 33}; }

KeyRing one_ring() {
  const Bytes master(kMasterKeySize, 0x42);
  return std::move(KeyRing::from_master_keys({{1, ByteView(master)}})).value();
}

TEST(SealNonces, EveryNonceIsNew) {
  const auto ring = one_ring();
  const std::uint8_t row[] = {1};
  std::set<Bytes> seen;
  for (int i = 0; i < 10'000; ++i) {
    const auto s = seal(ring, Binding{"t", row}, as_bytes(std::string("x")));
    ASSERT_TRUE(seen.insert(nonce_of(s)).second) << "nonce reused at seal " << i;
  }
}

TEST(SealNonces, AForkedChildDoesNotReuseItsParentsNonces) {
  const auto ring = one_ring();
  const std::uint8_t row[] = {1};
  const std::string x = "x";
  const auto text = as_bytes(x);
  (void)seal(ring, Binding{"t", row}, text);  // the parent now holds drawn nonces
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    const auto n = nonce_of(seal(ring, Binding{"t", row}, text));
    const bool ok = ::write(fds[1], n.data(), n.size()) == static_cast<ssize_t>(n.size());
    ::_exit(ok ? 0 : 1);
  }
  ::close(fds[1]);
  const auto parents = nonce_of(seal(ring, Binding{"t", row}, text));
  Bytes childs(24);
  ASSERT_EQ(::read(fds[0], childs.data(), childs.size()), 24);
  ::close(fds[0]);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_NE(parents, childs);
}

// The pool behind the nonces also gives request ids: draws of any size,
// across refills, never repeat a byte range, and a draw larger than the pool
// still comes whole from the CSPRNG.
TEST(PooledRandom, DrawsOfMixedSizesAreAllNew) {
  std::set<Bytes> seen;
  for (int i = 0; i < 5'000; ++i) {
    Bytes b(i % 3 == 0 ? 24 : (i % 3 == 1 ? 8 : 17));
    pooled_random_bytes(b);
    ASSERT_TRUE(seen.insert(b).second) << "draw " << i << " repeated";
  }
  Bytes big(kRandomPoolBytes + 1, 0);
  pooled_random_bytes(big);
  EXPECT_NE(big, Bytes(kRandomPoolBytes + 1, 0));
}

}  // namespace
}  // namespace hiegate::crypto
