// `TOOL COMMAND --help` (hiegatectl(8), hiegate-secretariat(8)): every
// command of both tools shows its usage on standard output and exits 0, and
// nothing else given with --help runs.
#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>

#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace hiegate::test {
namespace {

/// The commands a tool lists in its own usage ("  NAME  summary" lines).
std::vector<std::string> commands_of(const std::string& tool) {
  const auto r = run({binary(tool).string(), "--help"});
  EXPECT_EQ(r.status, 0) << r.output;
  std::vector<std::string> out;
  std::istringstream lines(r.output);
  bool in_list = false;
  for (std::string line; std::getline(lines, line);) {
    if (line == "commands:") {
      in_list = true;
    } else if (in_list && line.starts_with("  ")) {
      std::istringstream words(line);
      std::string name;
      words >> name;
      out.push_back(name);
    } else if (in_list) {
      break;
    }
  }
  return out;
}

/// TOOL ARGS with stderr thrown away: what reaches standard output.
RunResult stdout_of(const std::string& tool, const std::string& args) {
  return run({"/bin/sh", "-c", "exec '" + binary(tool).string() + "' " + args + " 2>/dev/null"});
}

TEST(ToolHelp, EveryCommandShowsItsUsageOnStdoutAndExitsZero) {
  for (const std::string tool : {"hiegatectl", "hiegate-secretariat"}) {
    const auto commands = commands_of(tool);
    ASSERT_GE(commands.size(), 10U) << tool;
    for (const auto& cmd : commands) {
      for (const std::string help : {"--help", "-h"}) {
        const auto r = stdout_of(tool, cmd + " " + help);
        EXPECT_EQ(r.status, 0) << tool << " " << cmd << " " << help << "\n" << r.output;
        EXPECT_NE(r.output.find("usage: " + tool + " " + cmd), std::string::npos)
            << tool << " " << cmd << " " << help << "\n" << r.output;
        EXPECT_EQ(r.output.find("unknown"), std::string::npos) << tool << " " << cmd << "\n" << r.output;
      }
    }
  }
}

// A command given all it needs and --help only shows its usage.
TEST(ToolHelp, NothingElseGivenWithHelpRuns) {
  TempDir dir;
  const auto key = dir.path() / "master-key";
  const auto keys = dir.path() / "officer.key";
  EXPECT_EQ(stdout_of("hiegatectl", "keygen --out '" + key.string() + "' --help").status, 0);
  EXPECT_EQ(stdout_of("hiegate-secretariat", "keys new --out '" + keys.string() + "' --help").status, 0);
  EXPECT_EQ(stdout_of("hiegate-secretariat", "ca init --network n --dir '" + dir.path().string() + "/ca' -h").status,
            0);
  EXPECT_FALSE(std::filesystem::exists(key));
  EXPECT_FALSE(std::filesystem::exists(keys));
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "ca"));
  // Without --help the same command does run.
  EXPECT_EQ(run({binary("hiegatectl").string(), "keygen", "--out", key.string()}).status, 0);
  EXPECT_TRUE(std::filesystem::exists(key));
}

}  // namespace
}  // namespace hiegate::test
