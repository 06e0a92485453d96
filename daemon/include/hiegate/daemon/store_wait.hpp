// Blocking adapter over the store's callback API, for command-line tools and
// tests. Never use it on an io_context thread: it blocks until the store
// calls back.
#pragma once

#include <future>

#include "hiegate/common/result.hpp"

namespace hiegate::daemon {

/// Calls `start(callback)` and waits until the callback has run.
template <class T, class Start>
Result<T> wait_for(Start&& start) {
  std::promise<Result<T>> p;
  auto f = p.get_future();
  start([&p](Result<T> r) { p.set_value(std::move(r)); });
  return f.get();
}

}  // namespace hiegate::daemon
