// Test helper: runs hiegate-secretariat command functions as the binary
// would, with officer keys made by `keys new` in a temp directory.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "secretariat/directive_cmds.hpp"
#include "secretariat/documents.hpp"
#include "support/temp_dir.hpp"

namespace hiegate::tools::testing {

using Main = int (*)(int, char**);

/// argv[0] is the group name, as the dispatcher passes it.
inline int run(Main f, std::vector<std::string> args) {
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  return f(static_cast<int>(args.size()), argv.data());
}

inline policy::Time now() {
  return std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
}

/// Officers' key files in `dir`: root1..root4, orders1..orders2, heartbeat1.
struct Officers {
  test::TempDir& dir;
  explicit Officers(test::TempDir& d) : dir(d) {
    for (const char* n : {"root1", "root2", "root3", "root4", "orders1", "orders2", "heartbeat1"})
      EXPECT_EQ(run(keys_main, {"keys", "new", "--out", key(n)}), 0) << n;
  }
  std::string key(const std::string& name) const { return (dir / (name + ".key")).string(); }
  std::string pub(const std::string& name) const {
    auto kp = secretariat::read_secret_key(key(name));
    EXPECT_TRUE(kp.ok());
    return crypto::to_base64(kp->public_key);
  }
  std::string path(const std::string& name) const { return (dir / name).string(); }

  /// Keyset v1: roots 1+2 (2 of 2), orders 1+2 (2 of 2), heartbeat 1 (1 of 1).
  void keyset_v1(const std::string& out) const {
    ASSERT_EQ(run(keyset_main, {"keyset", "init", "--network", "nishitama", "--root", pub("root1"),
                                "--root", pub("root2"), "--root-threshold", "2", "--orders",
                                pub("orders1"), "--orders", pub("orders2"), "--orders-threshold",
                                "2", "--heartbeat", pub("heartbeat1"), "--heartbeat-threshold",
                                "1", "--out", path(out)}),
              0);
  }
  /// Each officer signs on their own, then the signatures are combined.
  int sign_and_combine(const std::string& type, const std::string& body,
                       const std::vector<std::string>& signers, const std::string& out) const {
    std::vector<std::string> combine = {"combine", "--type", type, path(body)};
    for (const auto& s : signers) {
      const std::string sig = path(body + "." + s + ".sig");
      if (int rc = run(sign_main, {"sign", "--key", key(s), "--type", type, path(body), "--out", sig});
          rc != 0)
        return rc;
      combine.push_back(sig);
    }
    combine.insert(combine.end(), {"--out", path(out)});
    return run(combine_main, combine);
  }
};

}  // namespace hiegate::tools::testing
