// Small helpers shared by the directive commands of hiegate-secretariat.
#pragma once

#include <charconv>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

#include "cli.hpp"
#include "hiegate/common/result.hpp"

namespace hiegate::tools::secretariat {

/// Prints "code: message" and returns exit code 1.
inline int refused(const Error& e) {
  std::fprintf(stderr, "%s: %s\n", e.code.c_str(), e.message.c_str());
  return 1;
}

/// Prints the usage text and returns exit code 2.
inline int usage_error(const char* text, const std::string& why = {}) {
  if (!why.empty()) std::fprintf(stderr, "%s\n", why.c_str());
  std::fputs(text, stderr);
  return 2;
}

/// A decimal integer in [1, 2^53-1] or nullopt.
inline std::optional<std::uint64_t> parse_count(std::string_view s) {
  std::uint64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size() || v == 0 || v > (std::uint64_t{1} << 53) - 1)
    return std::nullopt;
  return v;
}

/// Option `name` as a count; `error` set when present but bad, or missing
/// and required.
inline std::optional<std::uint64_t> count_option(const Args& args, std::string_view name,
                                                 std::string& error) {
  const auto v = args.get(name);
  if (!v) {
    error = "--" + std::string(name) + " is required";
    return std::nullopt;
  }
  auto n = parse_count(*v);
  if (!n) error = "--" + std::string(name) + " must be a positive integer";
  return n;
}

}  // namespace hiegate::tools::secretariat
