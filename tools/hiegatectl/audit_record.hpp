// How hiegatectl's state-changing commands (backup, restore, store rekey)
// and its reads of the trail (audit report, audit export) leave their audit
// record: appended to <state_dir>/audit.db when no daemon runs, else
// spooled for the running daemon (daemon::record_offline).
#pragma once

#include <memory>
#include <string>

#include "hiegate/crypto/keys.hpp"

namespace hiegate::ctl {

/// Records `event` by the invoking Unix user (about `patient`, if any);
/// prints where it went on stderr. Returns false (after printing why) if it
/// could not be recorded: an act already done then exits non-zero; a read
/// is not done at all.
bool record_admin_act(const std::string& state_dir, std::shared_ptr<const crypto::KeyRing> keys,
                      const std::string& event, char action, bool ok, const std::string& code,
                      const std::string& detail, const std::string& patient = "");

}  // namespace hiegate::ctl
