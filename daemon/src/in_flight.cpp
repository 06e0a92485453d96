#include "hiegate/daemon/in_flight.hpp"

#include <cstdint>
#include <map>
#include <mutex>
#include <utility>
#include <vector>

namespace hiegate::daemon {

struct InFlight::State {
  struct Entry {
    policy::Function function;
    std::function<void()> cut;
  };
  mutable std::mutex mu;
  std::map<std::uint64_t, Entry> entries;
  std::uint64_t next = 1;
  std::size_t cut_total = 0;

  /// Removes and returns the cuts of entries `allowed` lacks.
  std::vector<std::function<void()>> take_forbidden(policy::FunctionSet allowed) {
    std::vector<std::function<void()>> cuts;
    std::lock_guard lk(mu);
    for (auto it = entries.begin(); it != entries.end();) {
      if (allowed.contains(it->second.function)) {
        ++it;
        continue;
      }
      cuts.push_back(std::move(it->second.cut));
      it = entries.erase(it);
    }
    cut_total += cuts.size();
    return cuts;
  }
};

namespace {
/// Unregisters its entry when the operation ends.
struct Registration {
  Registration(std::weak_ptr<InFlight::State> s, std::uint64_t i) : state(std::move(s)), id(i) {}
  Registration(const Registration&) = delete;
  Registration& operator=(const Registration&) = delete;
  std::weak_ptr<InFlight::State> state;
  std::uint64_t id;
  ~Registration() {
    if (auto s = state.lock()) {
      std::lock_guard lk(s->mu);
      s->entries.erase(id);
    }
  }
};
}  // namespace

InFlight::InFlight(Allowed allowed) : allowed_(std::move(allowed)), state_(std::make_shared<State>()) {}

InFlight::Handle InFlight::hold(policy::Function f, std::function<void()> cut) {
  std::uint64_t id = 0;
  {
    std::lock_guard lk(state_->mu);
    id = state_->next++;
    state_->entries.emplace(id, State::Entry{f, std::move(cut)});
  }
  auto handle = std::make_shared<Registration>(state_, id);
  // An order accepted between the handler's own mode check and this
  // registration must not let the operation slip through.
  if (!allowed_().contains(f)) recheck();
  return handle;
}

std::size_t InFlight::recheck() {
  auto cuts = state_->take_forbidden(allowed_());
  for (auto& c : cuts) {
    if (c) c();
  }
  return cuts.size();
}

std::size_t InFlight::size() const {
  std::lock_guard lk(state_->mu);
  return state_->entries.size();
}

std::size_t InFlight::cut_total() const {
  std::lock_guard lk(state_->mu);
  return state_->cut_total;
}

}  // namespace hiegate::daemon
