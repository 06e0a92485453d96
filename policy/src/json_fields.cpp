#include "json_fields.hpp"

#include "hiegate/policy/directive_bodies.hpp"

namespace hiegate::policy::detail {

FieldReader::FieldReader(const json& value, std::string path,
                         std::initializer_list<std::string_view> allowed, Problems& problems)
    : path_(std::move(path)), problems_(problems) {
  if (!value.is_object()) {
    problems_.add((path_.empty() ? std::string("body") : path_) + " is not an object");
    return;
  }
  object_ = &value;
  for (const auto& [name, member] : value.items()) {
    bool known = false;
    for (std::string_view a : allowed) known = known || a == name;
    if (!known) problems_.add("unknown member " + this->path(name));
  }
}

std::string FieldReader::path(std::string_view name) const {
  return path_.empty() ? std::string(name) : path_ + "." + std::string(name);
}

void FieldReader::fail(std::string_view name, std::string_view why) {
  problems_.add(path(name) + " " + std::string(why));
}

const json* FieldReader::get(std::string_view name, bool required) {
  if (object_ == nullptr) return nullptr;
  const auto it = object_->find(name);
  if (it == object_->end()) {
    if (required) fail(name, "is missing");
    return nullptr;
  }
  return &*it;
}

std::optional<std::string> FieldReader::optional_string(std::string_view name) {
  const json* v = get(name, false);
  if (v == nullptr) return std::nullopt;
  if (!v->is_string()) {
    fail(name, "is not a string");
    return std::nullopt;
  }
  return v->get<std::string>();
}

std::string FieldReader::string(std::string_view name) {
  if (get(name) == nullptr) return {};
  return optional_string(name).value_or(std::string());
}

std::uint64_t FieldReader::sequence(std::string_view name) {
  const json* v = get(name);
  if (v == nullptr) return 0;
  const auto n = integer_in(*v, 1, kMaxSequence);
  if (!n) fail(name, "is not an integer in [1, 2^53-1]");
  return n.value_or(0);
}

std::optional<Time> FieldReader::optional_time(std::string_view name) {
  const auto s = optional_string(name);
  if (!s) return std::nullopt;
  const auto t = parse_rfc3339(*s);
  if (!t) fail(name, "is not an RFC 3339 UTC time with Z and whole seconds");
  return t;
}

Time FieldReader::time(std::string_view name) {
  if (get(name) == nullptr) return {};
  return optional_time(name).value_or(Time{});
}

std::optional<std::uint64_t> integer_in(const json& v, std::uint64_t lo, std::uint64_t hi) {
  if (!v.is_number_unsigned()) return std::nullopt;  // negatives and floats excluded
  const auto n = v.get<std::uint64_t>();
  if (n < lo || n > hi) return std::nullopt;
  return n;
}

}  // namespace hiegate::policy::detail
