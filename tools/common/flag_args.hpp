// Minimal "--name value" / "--flag" parsing for the command-line tools.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace hiegate::tools {

struct FlagArgs {
  std::map<std::string, std::string> values;  ///< --name value
  std::vector<std::string> positional;
  std::string error;  ///< non-empty: unknown or incomplete option

  /// `with_value`: options taking a value; `flags`: options without one.
  FlagArgs(int argc, char** argv, int first, const std::set<std::string>& with_value,
           const std::set<std::string>& flags = {}) {
    for (int i = first; i < argc; ++i) {
      const std::string a = argv[i];
      if (a == "--help") {
        // Only ever alone (dispatch() passes nothing else): the caller,
        // missing what it needs, prints its usage.
        continue;
      }
      if (a.rfind("--", 0) != 0) {
        positional.push_back(a);
      } else if (flags.count(a)) {
        values[a] = "1";
      } else if (!with_value.count(a)) {
        error = "unknown option " + a;
        return;
      } else if (i + 1 >= argc) {
        error = "option " + a + " needs a value";
        return;
      } else {
        values[a] = argv[++i];
      }
    }
  }
  [[nodiscard]] std::optional<std::string> get(const std::string& name) const {
    auto it = values.find(name);
    if (it == values.end()) return std::nullopt;
    return it->second;
  }
  /// Positive integer option, `fallback` when absent; nullopt when malformed.
  [[nodiscard]] std::optional<int> number(const std::string& name, int fallback) const {
    auto v = get(name);
    if (!v) return fallback;
    try {
      std::size_t used = 0;
      const int n = std::stoi(*v, &used);
      if (used != v->size() || n <= 0) return std::nullopt;
      return n;
    } catch (const std::exception&) {
      return std::nullopt;
    }
  }
};

}  // namespace hiegate::tools
