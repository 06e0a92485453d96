// The network functions that the secretariat's orders allow or refuse
// (shared/spec/directives.md, "Functions").
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace hiegate::policy {

enum class Function : std::uint8_t { view, emergency, serve, publish, export_, print };

inline constexpr std::array<Function, 6> kAllFunctions = {
    Function::view, Function::emergency, Function::serve,
    Function::publish, Function::export_, Function::print};

[[nodiscard]] std::string_view name(Function f) noexcept;
[[nodiscard]] std::optional<Function> parse_function(std::string_view s) noexcept;

/// A set of functions as a bit mask. Value type, trivially copyable.
class FunctionSet {
public:
  constexpr FunctionSet() = default;
  static constexpr FunctionSet all() { return FunctionSet(0x3f); }
  static constexpr FunctionSet none() { return FunctionSet(0); }

  [[nodiscard]] constexpr bool contains(Function f) const { return (bits_ >> bit(f)) & 1U; }
  constexpr FunctionSet& insert(Function f) { bits_ |= static_cast<std::uint8_t>(1U << bit(f)); return *this; }
  constexpr FunctionSet& erase(Function f) { bits_ &= static_cast<std::uint8_t>(~(1U << bit(f))); return *this; }
  [[nodiscard]] constexpr FunctionSet intersect(FunctionSet o) const { return FunctionSet(bits_ & o.bits_); }
  [[nodiscard]] constexpr bool empty() const { return bits_ == 0; }
  [[nodiscard]] constexpr std::uint8_t bits() const { return bits_; }
  friend constexpr bool operator==(FunctionSet, FunctionSet) = default;

private:
  constexpr explicit FunctionSet(unsigned b) : bits_(static_cast<std::uint8_t>(b)) {}
  static constexpr unsigned bit(Function f) { return static_cast<unsigned>(f); }
  std::uint8_t bits_ = 0;
};

}  // namespace hiegate::policy
