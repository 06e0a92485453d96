// A move-only std::function replacement (Asio handlers are move-only).
#pragma once

#include <memory>
#include <utility>

namespace hiegate::transport::detail {

template <class Sig>
class UniqueFunction;

template <class R, class... A>
class UniqueFunction<R(A...)> {
public:
  UniqueFunction() = default;
  template <class F>
  UniqueFunction(F f) : p_(std::make_unique<Holder<F>>(std::move(f))) {}  // NOLINT: implicit by design
  explicit operator bool() const noexcept { return p_ != nullptr; }
  R operator()(A... a) { return p_->call(std::forward<A>(a)...); }

private:
  struct Base {
    virtual ~Base() = default;
    virtual R call(A... a) = 0;
  };
  template <class F>
  struct Holder final : Base {
    explicit Holder(F fn) : f(std::move(fn)) {}
    R call(A... a) override { return f(std::forward<A>(a)...); }
    F f;
  };
  std::unique_ptr<Base> p_;
};

}  // namespace hiegate::transport::detail
