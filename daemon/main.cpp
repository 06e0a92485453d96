// hiegated — the gateway daemon. See hiegated(8).
#include <cstring>
#include <filesystem>
#include <iostream>
#include <string_view>

#include "hiegate/daemon/app.hpp"
#include "hiegate/daemon/config.hpp"

namespace {
constexpr const char* kUsage =
    "usage: hiegated [--config FILE] [--allow-root]\n"
    "       hiegated --check-config [--config FILE]\n"
    "       hiegated --version\n";
}

int main(int argc, char** argv) {
  using namespace hiegate::daemon;
  AppOptions opts;
  opts.config_path = kDefaultConfigPath;
  bool check_only = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--config" && i + 1 < argc) {
      opts.config_path = std::filesystem::absolute(argv[++i]);
    } else if (a == "--allow-root") {
      opts.allow_root = true;
    } else if (a == "--check-config") {
      check_only = true;
    } else if (a == "--version") {
      std::cout << "hiegated " HIEGATE_VERSION "\n";
      return kExitOk;
    } else if (a == "--help" || a == "-h") {
      std::cout << kUsage;
      return kExitOk;
    } else {
      std::cerr << "hiegated: unknown argument '" << a << "'\n" << kUsage;
      return kExitUsage;
    }
  }
  if (check_only) {
    const ConfigLoad load = load_config(opts.config_path);
    if (!load.ok()) {
      std::cerr << load.report();
      return kExitConfig;
    }
    return kExitOk;
  }
  return run_app(opts);
}
