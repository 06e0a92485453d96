// Minimal command-line parsing shared by hiegatectl and hiegate-secretariat:
// "--name value" options, "--flag" switches, and positionals.
#pragma once

#include <unistd.h>

#include <array>
#include <cstdio>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace hiegate::tools {

class Args {
public:
  /// `with_value`: options that take a value; `flags`: switches. Anything
  /// else starting with "--" is an error (see error()).
  Args(int argc, char** argv, std::set<std::string, std::less<>> with_value,
       std::set<std::string, std::less<>> flags = {}) {
    for (int i = 1; i < argc; ++i) {
      const std::string_view a = argv[i];
      if (a.size() > 2 && a.starts_with("--")) {
        const std::string name(a.substr(2));
        if (name == "help" && flags.count(name) == 0) {
          help_ = true;  // not ok(), no error of its own: the caller's usage follows
          return;
        }
        if (with_value.count(name) != 0) {
          if (i + 1 >= argc) {
            error_ = "option --" + name + " needs a value";
            return;
          }
          options_[name].push_back(argv[++i]);
        } else if (flags.count(name) != 0) {
          flags_.insert(name);
        } else {
          error_ = "unknown option --" + name;
          return;
        }
      } else {
        positional_.emplace_back(a);
      }
    }
  }

  [[nodiscard]] bool ok() const { return error_.empty() && !help_; }
  [[nodiscard]] const std::string& error() const { return error_; }
  [[nodiscard]] const std::vector<std::string>& positional() const { return positional_; }
  [[nodiscard]] bool flag(std::string_view name) const { return flags_.count(std::string(name)) != 0; }
  [[nodiscard]] std::optional<std::string> get(std::string_view name) const {
    const auto it = options_.find(std::string(name));
    if (it == options_.end() || it->second.empty()) return std::nullopt;
    return it->second.back();
  }
  [[nodiscard]] std::vector<std::string> all(std::string_view name) const {
    const auto it = options_.find(std::string(name));
    return it == options_.end() ? std::vector<std::string>{} : it->second;
  }

private:
  std::map<std::string, std::vector<std::string>, std::less<>> options_;
  std::set<std::string, std::less<>> flags_;
  std::vector<std::string> positional_;
  std::string error_;
  bool help_ = false;
};

/// Whether a command's arguments (argv[0] its name) ask for its usage.
inline bool asks_help(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--help" || a == "-h") return true;
  }
  return false;
}

/// A subcommand of a tool: `run` gets argv with argv[0] = the command name.
struct Command {
  std::string_view name;
  std::string_view summary;
  int (*run)(int argc, char** argv);
};

/// Finds argv[1] in `commands` and runs it; prints usage on no match.
inline int dispatch(std::string_view tool, int argc, char** argv,
                    const std::vector<Command>& commands) {
  auto usage = [&](std::ostream& os) {
    os << "usage: " << tool << " <command> [options]\n\ncommands:\n";
    for (const auto& c : commands) {
      os << "  " << c.name << std::string(c.name.size() < 22 ? 22 - c.name.size() : 1, ' ')
         << c.summary << "\n";
    }
    os << "\nRun '" << tool << " <command> --help' for the options of a command.\n";
  };
  if (argc < 2) {
    usage(std::cerr);
    return 2;
  }
  const std::string_view cmd = argv[1];
  if (cmd == "--help" || cmd == "-h" || cmd == "help") {
    usage(std::cout);
    return 0;
  }
  if (cmd == "--version" || cmd == "version") {
    std::cout << tool << " " HIEGATE_VERSION "\n";
    return 0;
  }
  for (const auto& c : commands) {
    if (c.name != cmd) continue;
    if (!asks_help(argc - 1, argv + 1)) return c.run(argc - 1, argv + 1);
    // COMMAND ... --help: the command alone with --help, so nothing else it
    // was given can run; its usage, written as for an error, goes to stdout.
    std::cout.flush();
    std::fflush(nullptr);
    const int saved = ::dup(STDERR_FILENO);
    ::dup2(STDOUT_FILENO, STDERR_FILENO);
    std::string name(c.name);
    std::string help = "--help";
    std::array<char*, 3> help_argv{name.data(), help.data(), nullptr};
    const int rc = c.run(2, help_argv.data());
    std::cerr.flush();
    std::fflush(nullptr);
    if (saved >= 0) {
      ::dup2(saved, STDERR_FILENO);
      ::close(saved);
    }
    return rc == 2 ? 0 : rc;
  }
  std::cerr << tool << ": unknown command '" << cmd << "'\n";
  usage(std::cerr);
  return 2;
}

}  // namespace hiegate::tools
