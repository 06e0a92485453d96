// Schema reading for the directive bodies: a reader over one JSON object that
// records the first problem (as an `invalid` reason) and otherwise returns
// neutral values, so that schema code reads top to bottom. Private to policy/.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "hiegate/policy/rfc3339.hpp"

namespace hiegate::policy::detail {

using json = nlohmann::json;

/// The first schema problem found, shared by nested readers.
class Problems {
 public:
  void add(std::string what) {
    if (first_.empty()) first_ = std::move(what);
  }
  [[nodiscard]] bool any() const { return !first_.empty(); }
  [[nodiscard]] const std::string& first() const { return first_; }

 private:
  std::string first_;
};

class FieldReader {
 public:
  /// Records a problem if `value` is not an object or has a member not in `allowed`.
  FieldReader(const json& value, std::string path, std::initializer_list<std::string_view> allowed,
              Problems& problems);

  /// The member, or null (and a problem when `required`).
  const json* get(std::string_view name, bool required = true);
  std::string string(std::string_view name);
  std::optional<std::string> optional_string(std::string_view name);
  /// An integer in [1, 2^53-1].
  std::uint64_t sequence(std::string_view name);
  Time time(std::string_view name);
  std::optional<Time> optional_time(std::string_view name);

  void fail(std::string_view name, std::string_view why);
  [[nodiscard]] std::string path(std::string_view name) const;

 private:
  const json* object_ = nullptr;
  std::string path_;
  Problems& problems_;
};

/// An unsigned JSON integer in [lo, hi], else nullopt.
std::optional<std::uint64_t> integer_in(const json& v, std::uint64_t lo, std::uint64_t hi);

}  // namespace hiegate::policy::detail
