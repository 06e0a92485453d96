// In-process hardening, applied in one place at start, in this order:
//   1. refuse to run as root (unless explicitly allowed, for tests/containers)
//   2. PR_SET_DUMPABLE 0 and RLIMIT_CORE 0: no core dumps of key material
//   3. umask 077: every file the daemon creates is private
//   4. close inherited file descriptors above stderr (except LISTEN_FDS)
//   5. PR_SET_NO_NEW_PRIVS: no privilege gain through exec
//   6. raise RLIMIT_NOFILE soft limit to the hard limit (connection capacity)
#pragma once

#include "hiegate/common/result.hpp"

namespace hiegate::daemon {

struct HardeningOptions {
  bool allow_root = false;
};

[[nodiscard]] Status harden_process(const HardeningOptions& opts);

}  // namespace hiegate::daemon
