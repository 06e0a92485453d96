// The hiegated process: wiring and lifecycle.
//
// run() loads the config (refusing to start on any problem), hardens the
// process, binds the local API, tells systemd READY=1, and serves until
// SIGTERM/SIGINT. SIGHUP reloads: a new valid snapshot is swapped in
// atomically; an invalid one is logged and the old one keeps serving.
// SIGTERM drains in-flight requests (bounded by daemon.drain_timeout) and
// exits 0.
#pragma once

#include <filesystem>
#include <memory>

namespace hiegate::daemon {

struct AppOptions {
  std::filesystem::path config_path;
  bool allow_root = false;
};

/// Exit codes of hiegated (documented in hiegated(8)).
enum ExitCode : int {
  kExitOk = 0,
  kExitFailure = 1,  ///< could not start or keep running (bind failure, hardening, ...)
  kExitUsage = 2,    ///< bad command line
  kExitConfig = 78,  ///< EX_CONFIG: the configuration is invalid
};

/// Runs the daemon in the foreground; returns the process exit code.
[[nodiscard]] int run_app(const AppOptions& opts);

}  // namespace hiegate::daemon
