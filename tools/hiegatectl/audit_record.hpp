// How hiegatectl's state-changing commands (backup, restore, store rekey)
// leave their audit record: appended to <state_dir>/audit.db when no daemon
// runs, else spooled for the running daemon (daemon::record_offline).
#pragma once

#include <memory>
#include <string>

#include "hiegate/crypto/keys.hpp"

namespace hiegate::ctl {

/// Records `event` by the invoking Unix user; prints where it went. Returns
/// false (after printing why) if it could not be recorded: the caller exits
/// non-zero, the act itself having been done.
bool record_admin_act(const std::string& state_dir, std::shared_ptr<const crypto::KeyRing> keys,
                      const std::string& event, char action, bool ok, const std::string& code,
                      const std::string& detail);

}  // namespace hiegate::ctl
