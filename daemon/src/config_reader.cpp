#include "config_reader.hpp"

#include <charconv>
#include <cmath>
#include <sstream>

namespace hiegate::daemon::config_detail {

void Diagnostics::add(const toml::node* at, const std::string& key, std::string message) {
  ConfigIssue issue;
  issue.file = file_;
  if (at != nullptr) {
    issue.line = at->source().begin.line;
    issue.column = at->source().begin.column;
  }
  issue.key = key;
  issue.message = std::move(message);
  out_.push_back(std::move(issue));
}

std::string type_name(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a float";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::date: return "a date";
    case toml::node_type::time: return "a time";
    case toml::node_type::date_time: return "a date-time";
    default: return "nothing";
  }
}

Section::Section(const toml::table* table, std::string path, Diagnostics& diag)
    : table_(table), path_(std::move(path)), diag_(diag) {}

Section::Section(const toml::node* node, std::string path, Diagnostics& diag)
    : path_(std::move(path)), diag_(diag) {
  if (node == nullptr) return;
  table_ = node->as_table();
  if (table_ == nullptr) diag_.add(node, path_, "must be a table, not " + type_name(*node));
}

std::string Section::key_path(std::string_view key) const {
  return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
}

const toml::node* Section::node(std::string_view key) {
  known_.emplace(key);
  if (table_ == nullptr) return nullptr;
  return table_->get(key);
}

void Section::string(std::string_view key, std::string& out, bool required,
                     const std::function<std::string(const std::string&)>& check) {
  const toml::node* n = node(key);
  if (n == nullptr) {
    if (required) diag_.add(table_, key_path(key), "is required");
    return;
  }
  const auto* s = n->as_string();
  if (s == nullptr) {
    diag_.add(n, key_path(key), "must be a string, not " + type_name(*n));
    return;
  }
  if (check) {
    if (std::string err = check(s->get()); !err.empty()) {
      diag_.add(n, key_path(key), std::move(err));
      return;
    }
  }
  out = s->get();
}

void Section::path(std::string_view key, std::filesystem::path& out, bool allow_empty) {
  std::string v = out.string();
  string(key, v, false, [&](const std::string& s) -> std::string {
    if (s.empty()) return allow_empty ? "" : "must not be empty";
    if (s.front() != '/') return "must be an absolute path";
    if (s.find('\0') != std::string::npos) return "must not contain NUL";
    return "";
  });
  out = v;
}

void Section::uint(std::string_view key, std::uint64_t& out, std::uint64_t min, std::uint64_t max) {
  const toml::node* n = node(key);
  if (n == nullptr) return;
  const auto* i = n->as_integer();
  if (i == nullptr) {
    diag_.add(n, key_path(key), "must be an integer, not " + type_name(*n));
    return;
  }
  const std::int64_t v = i->get();
  if (v < 0 || static_cast<std::uint64_t>(v) < min || static_cast<std::uint64_t>(v) > max) {
    diag_.add(n, key_path(key),
              "must be between " + std::to_string(min) + " and " + std::to_string(max) +
                  ", not " + std::to_string(v));
    return;
  }
  out = static_cast<std::uint64_t>(v);
}

void Section::number(std::string_view key, double& out, double min, double max) {
  const toml::node* n = node(key);
  if (n == nullptr) return;
  double v = 0;
  if (const auto* i = n->as_integer()) {
    v = static_cast<double>(i->get());
  } else if (const auto* f = n->as_floating_point()) {
    v = f->get();
  } else {
    diag_.add(n, key_path(key), "must be a number, not " + type_name(*n));
    return;
  }
  if (!(v >= min && v <= max)) {  // NaN fails too
    auto text = [](double x) {
      if (std::abs(x) < 1e15 && x == std::floor(x)) return std::to_string(static_cast<long long>(x));
      std::ostringstream o;
      o << x;
      return o.str();
    };
    diag_.add(n, key_path(key), "must be between " + text(min) + " and " + text(max) + ", not " + text(v));
    return;
  }
  out = v;
}

void Section::boolean(std::string_view key, bool& out) {
  const toml::node* n = node(key);
  if (n == nullptr) return;
  const auto* b = n->as_boolean();
  if (b == nullptr) {
    diag_.add(n, key_path(key), "must be true or false, not " + type_name(*n));
    return;
  }
  out = b->get();
}

namespace {
std::string format_duration(Millis d) {
  const auto ms = d.count();
  if (ms % 86'400'000 == 0) return std::to_string(ms / 86'400'000) + "d";
  if (ms % 3'600'000 == 0) return std::to_string(ms / 3'600'000) + "h";
  if (ms % 60'000 == 0) return std::to_string(ms / 60'000) + "m";
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}
}  // namespace

void Section::duration(std::string_view key, Millis& out, Millis min, Millis max) {
  const toml::node* n = node(key);
  if (n == nullptr) return;
  const auto* s = n->as_string();
  Millis v{};
  if (s == nullptr || !parse_duration(s->get(), v)) {
    diag_.add(n, key_path(key),
              "must be a duration string such as \"500ms\", \"30s\", \"5m\", \"24h\" or \"7d\"");
    return;
  }
  if (v < min || v > max) {
    diag_.add(n, key_path(key),
              "must be between " + format_duration(min) + " and " + format_duration(max));
    return;
  }
  out = v;
}

void Section::file_mode(std::string_view key, unsigned& out) {
  std::string v;
  unsigned mode = out;
  string(key, v, false, [&](const std::string& s) -> std::string {
    unsigned m = 0;
    const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), m, 8);
    if (s.size() != 4 || s[0] != '0' || ec != std::errc{} || p != s.data() + s.size() || m > 0777) {
      return "must be an octal mode string such as \"0660\"";
    }
    if ((m & 0007) != 0) return "must not grant access to others (last digit 0)";
    mode = m;
    return "";
  });
  out = mode;
}

void Section::string_list(std::string_view key, std::vector<std::string>& out,
                          const std::function<std::string(const std::string&)>& check) {
  const toml::node* n = node(key);
  if (n == nullptr) return;
  const auto* arr = n->as_array();
  if (arr == nullptr) {
    diag_.add(n, key_path(key), "must be an array of strings, not " + type_name(*n));
    return;
  }
  std::vector<std::string> values;
  bool ok = true;
  for (std::size_t i = 0; i < arr->size(); ++i) {
    const toml::node* e = arr->get(i);
    const std::string path = key_path(key) + "[" + std::to_string(i) + "]";
    const auto* str = e->as_string();
    if (str == nullptr) {
      diag_.add(e, path, "must be a string, not " + type_name(*e));
      ok = false;
      continue;
    }
    if (check) {
      if (std::string err = check(str->get()); !err.empty()) {
        diag_.add(e, path, std::move(err));
        ok = false;
        continue;
      }
    }
    values.push_back(str->get());
  }
  if (ok) out = std::move(values);
}

void Section::finish() {
  if (table_ == nullptr) return;
  for (const auto& [k, v] : *table_) {
    if (known_.find(k.str()) == known_.end()) {
      diag_.add(&v, key_path(k.str()), "unknown key");
    }
  }
}

}  // namespace hiegate::daemon::config_detail
