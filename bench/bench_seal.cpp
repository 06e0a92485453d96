// Sealed-record and store throughput.
//   seal/open of 1 KiB, 64 KiB and 16 MiB records against raw
//   crypto_aead_xchacha20poly1305_ietf in the same run, the chunked stream
//   for large contents, and publish/read operations through the store.
#include <benchmark/benchmark.h>
#include <sodium.h>

#include <atomic>
#include <filesystem>
#include <future>

#include "hiegate/crypto/primitives.hpp"
#include "hiegate/crypto/sealed.hpp"
#include "hiegate/daemon/store.hpp"
#include "hiegate/daemon/store_wait.hpp"

namespace {

using namespace hiegate;

const crypto::KeyRing& ring() {
  static const crypto::KeyRing r = [] {
    crypto::Bytes k(crypto::kMasterKeySize, 7);
    return std::move(crypto::KeyRing::from_master_keys({{1, k}})).value();
  }();
  return r;
}

const std::uint8_t kRowKey[32] = {1};
const crypto::Binding kBinding{"documents", kRowKey};

void set_bytes(benchmark::State& state) {
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
}

void BM_RawAeadEncrypt(benchmark::State& state) {
  (void)crypto::init();  // selects libsodium's vectorised implementations, as the real code does
  const auto n = static_cast<std::size_t>(state.range(0));
  crypto::Bytes plain(n, 'p'), out(n + 16), nonce(24), key(32, 7);
  for (auto _ : state) {
    randombytes_buf(nonce.data(), nonce.size());
    unsigned long long len = 0;
    crypto_aead_xchacha20poly1305_ietf_encrypt(out.data(), &len, plain.data(), n, kRowKey, sizeof kRowKey, nullptr,
                                               nonce.data(), key.data());
    benchmark::DoNotOptimize(out.data());
  }
  set_bytes(state);
}

void BM_Seal(benchmark::State& state) {
  crypto::Bytes plain(static_cast<std::size_t>(state.range(0)), 'p');
  for (auto _ : state) benchmark::DoNotOptimize(crypto::seal(ring(), kBinding, plain));
  set_bytes(state);
}

void BM_RawAeadDecrypt(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  crypto::Bytes plain(n, 'p'), out(n + 16), nonce(24, 1), key(32, 7);
  unsigned long long len = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(out.data(), &len, plain.data(), n, kRowKey, sizeof kRowKey, nullptr,
                                             nonce.data(), key.data());
  for (auto _ : state) {
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(plain.data(), &len, nullptr, out.data(), out.size(), kRowKey,
                                                   sizeof kRowKey, nonce.data(), key.data()) != 0) {
      state.SkipWithError("decrypt failed");
    }
    benchmark::DoNotOptimize(plain.data());
  }
  set_bytes(state);
}

void BM_Open(benchmark::State& state) {
  const crypto::Bytes sealed = crypto::seal(ring(), kBinding, crypto::Bytes(static_cast<std::size_t>(state.range(0)), 'p'));
  for (auto _ : state) {
    auto p = crypto::open(ring(), kBinding, sealed);
    if (!p) state.SkipWithError("open failed");
    benchmark::DoNotOptimize(p);
  }
  set_bytes(state);
}

// Chunked stream (the format used for contents), sealed into a discarding sink.
void BM_SealStream(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  crypto::Bytes plain(n, 'p');
  for (auto _ : state) {
    std::size_t pos = 0, out = 0;
    auto st = crypto::seal_stream(
        ring(), kBinding,
        [&](std::span<std::uint8_t> b) -> Result<std::size_t> {
          const std::size_t k = std::min(b.size(), n - pos);
          std::copy_n(plain.data() + pos, k, b.data());
          pos += k;
          return k;
        },
        [&](crypto::ByteView d) -> Status {
          out += d.size();
          return {};
        });
    benchmark::DoNotOptimize(out);
    if (!st) state.SkipWithError("stream failed");
  }
  set_bytes(state);
}

struct StoreFixture {
  std::filesystem::path dir;
  std::unique_ptr<daemon::Store> store;
  StoreFixture() {
    dir = std::filesystem::temp_directory_path() / ("hiegate-bench-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    daemon::StoreOptions opt;
    opt.dir = dir;
    auto keys = std::make_shared<const crypto::KeyRing>(
        std::move(crypto::KeyRing::from_master_keys({{1, crypto::Bytes(32, 7)}})).value());
    store = std::move(daemon::Store::open(opt, keys)).value();
  }
  ~StoreFixture() {
    store.reset();
    std::filesystem::remove_all(dir);
  }
};

crypto::Source source_of(const std::string& s) {
  auto pos = std::make_shared<std::size_t>(0);
  return [&s, pos](std::span<std::uint8_t> out) -> Result<std::size_t> {
    const std::size_t n = std::min(out.size(), s.size() - *pos);
    std::copy_n(s.data() + *pos, n, out.data());
    *pos += n;
    return n;
  };
}

// One publish at a time, waiting for each commit (latency bound).
void BM_StorePublishSequential(benchmark::State& state) {
  StoreFixture f;
  const std::string content(1024, 'c');
  std::int64_t i = 0;
  for (auto _ : state) {
    auto st = daemon::wait_for<void>([&](auto cb) {
      f.store->publish({"P" + std::to_string(i % 100), "D" + std::to_string(i), R"({"title":"x"})", 0, 0},
                       source_of(content), cb);
    });
    if (!st) state.SkipWithError(st.error().message.c_str());
    ++i;
  }
  state.SetItemsProcessed(state.iterations());
}

// Many publishes in flight (as from many connections): batched commits.
void BM_StorePublishConcurrent(benchmark::State& state) {
  StoreFixture f;
  const std::string content(1024, 'c');
  std::int64_t i = 0;
  constexpr int kBurst = 256;
  for (auto _ : state) {
    std::atomic<int> left{kBurst};
    std::promise<void> all;
    for (int k = 0; k < kBurst; ++k, ++i) {
      f.store->publish({"P" + std::to_string(i % 100), "D" + std::to_string(i), R"({"title":"x"})", 0, 0},
                       source_of(content), [&](Status) {
                         if (--left == 0) all.set_value();
                       });
    }
    all.get_future().wait();
  }
  state.SetItemsProcessed(state.iterations() * kBurst);
}

void BM_StoreRead(benchmark::State& state) {
  StoreFixture f;
  const std::string content(1024, 'c');
  for (int i = 0; i < 1000; ++i) {
    (void)daemon::wait_for<void>([&](auto cb) {
      f.store->publish({"P", "D" + std::to_string(i), "{}", 0, 0}, source_of(content), cb);
    });
  }
  std::int64_t i = 0;
  for (auto _ : state) {
    std::size_t got = 0;
    auto st = daemon::wait_for<void>([&](auto cb) {
      f.store->read_content("D" + std::to_string(i++ % 1000), [&](crypto::ByteView d) -> Status {
        got += d.size();
        return {};
      }, cb);
    });
    if (!st || got != content.size()) state.SkipWithError("read failed");
  }
  state.SetItemsProcessed(state.iterations());
}

constexpr std::int64_t kSizes[] = {1 << 10, 64 << 10, 16 << 20};

void sizes(benchmark::internal::Benchmark* b) {
  for (auto s : kSizes) b->Arg(s);
}

}  // namespace

BENCHMARK(BM_RawAeadEncrypt)->Apply(sizes);
BENCHMARK(BM_Seal)->Apply(sizes);
BENCHMARK(BM_RawAeadDecrypt)->Apply(sizes);
BENCHMARK(BM_Open)->Apply(sizes);
BENCHMARK(BM_SealStream)->Arg(16 << 20);
BENCHMARK(BM_StorePublishSequential)->UseRealTime();
BENCHMARK(BM_StorePublishConcurrent)->UseRealTime();
BENCHMARK(BM_StoreRead)->UseRealTime();
BENCHMARK_MAIN();
