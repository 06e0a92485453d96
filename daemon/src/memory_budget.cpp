#include "hiegate/daemon/memory_budget.hpp"

#include <atomic>

namespace hiegate::daemon {

struct MemoryBudget::State {
  std::atomic<std::uint64_t> limit;
  std::atomic<std::uint64_t> used{0};
  std::atomic<std::uint64_t> refused{0};
  explicit State(std::uint64_t l) : limit(l) {}
};

namespace {
struct Held {
  std::shared_ptr<MemoryBudget::State> state;
  std::uint64_t bytes;
  Held(std::shared_ptr<MemoryBudget::State> s, std::uint64_t b) : state(std::move(s)), bytes(b) {}
  Held(const Held&) = delete;
  Held& operator=(const Held&) = delete;
  ~Held();
};
}  // namespace

Held::~Held() { state->used.fetch_sub(bytes, std::memory_order_acq_rel); }

MemoryBudget::MemoryBudget(std::uint64_t limit_bytes) : state_(std::make_shared<State>(limit_bytes)) {}

MemoryBudget::Hold MemoryBudget::try_hold(std::uint64_t bytes) {
  const std::uint64_t limit = state_->limit.load(std::memory_order_acquire);
  std::uint64_t used = state_->used.load(std::memory_order_acquire);
  do {
    if (bytes > limit || used > limit - bytes) {
      state_->refused.fetch_add(1, std::memory_order_relaxed);
      return nullptr;
    }
  } while (!state_->used.compare_exchange_weak(used, used + bytes, std::memory_order_acq_rel));
  return std::make_shared<const Held>(state_, bytes);
}

void MemoryBudget::set_limit(std::uint64_t limit_bytes) { state_->limit.store(limit_bytes, std::memory_order_release); }

std::uint64_t MemoryBudget::limit() const { return state_->limit.load(std::memory_order_acquire); }
std::uint64_t MemoryBudget::in_use() const { return state_->used.load(std::memory_order_acquire); }
std::uint64_t MemoryBudget::refused_total() const { return state_->refused.load(std::memory_order_relaxed); }

}  // namespace hiegate::daemon
