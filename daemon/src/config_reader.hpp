// Private helpers for reading a TOML table against a known set of keys, with
// every problem reported at its file:line:column. Used by config.cpp only.
#pragma once

#include <toml++/toml.h>

#include <functional>
#include <set>
#include <string>
#include <vector>

#include "hiegate/daemon/config.hpp"

namespace hiegate::daemon::config_detail {

class Diagnostics {
public:
  Diagnostics(std::vector<ConfigIssue>& out, std::string file) : out_(out), file_(std::move(file)) {}
  void add(const toml::node* at, const std::string& key, std::string message);
  [[nodiscard]] bool any() const { return !out_.empty(); }

private:
  std::vector<ConfigIssue>& out_;
  std::string file_;
};

/// A view of one table. Every key read through it is marked known; finish()
/// reports the rest as unknown. A missing table reads as empty.
class Section {
public:
  Section(const toml::table* table, std::string path, Diagnostics& diag);
  Section(const toml::node* node, std::string path, Diagnostics& diag);  ///< must be a table
  ~Section() = default;
  Section(const Section&) = delete;
  Section& operator=(const Section&) = delete;

  /// The node for `key`, or nullptr if absent (marks the key known).
  const toml::node* node(std::string_view key);
  [[nodiscard]] std::string key_path(std::string_view key) const;
  [[nodiscard]] Diagnostics& diag() { return diag_; }
  [[nodiscard]] const toml::table* table() const { return table_; }

  void string(std::string_view key, std::string& out, bool required = false,
              const std::function<std::string(const std::string&)>& check = {});
  void path(std::string_view key, std::filesystem::path& out, bool allow_empty = false);
  void uint(std::string_view key, std::uint64_t& out, std::uint64_t min, std::uint64_t max);
  template <class T>
  void uint_as(std::string_view key, T& out, std::uint64_t min, std::uint64_t max) {
    std::uint64_t v = out;
    uint(key, v, min, max);
    out = static_cast<T>(v);
  }
  /// An integer or a float within [min, max].
  void number(std::string_view key, double& out, double min, double max);
  void boolean(std::string_view key, bool& out);
  void duration(std::string_view key, Millis& out, Millis min, Millis max);
  void file_mode(std::string_view key, unsigned& out);
  /// An array of strings, each passing `check` (empty error = fine).
  void string_list(std::string_view key, std::vector<std::string>& out,
                   const std::function<std::string(const std::string&)>& check = {});
  /// Reports keys that no read asked for.
  void finish();

private:
  const toml::table* table_ = nullptr;
  std::string path_;
  Diagnostics& diag_;
  std::set<std::string, std::less<>> known_;
};

[[nodiscard]] std::string type_name(const toml::node& n);

}  // namespace hiegate::daemon::config_detail
