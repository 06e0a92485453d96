// How hiegatectl's state-changing commands (backup, restore, store rekey)
// and its reads of the trail (audit report, audit export) leave their audit
// record: appended to <state_dir>/audit.db when no daemon runs, else
// spooled for the running daemon (daemon::record_offline).
#pragma once

#include <memory>
#include <string>

#include "hiegate/crypto/keys.hpp"
#include "hiegate/daemon/audit.hpp"

namespace hiegate::ctl {

/// Records `event` by the invoking Unix user (about `patient`, if any);
/// prints where it went on stderr. Returns false (after printing why) if it
/// could not be recorded: an act already done then exits non-zero; a read
/// is not done at all.
bool record_admin_act(const std::string& state_dir, std::shared_ptr<const crypto::KeyRing> keys,
                      const std::string& event, char action, bool ok, const std::string& code,
                      const std::string& detail, const std::string& patient = "");

/// The same for a record built by the caller (the user and role are set
/// here: the invoking Unix user, role hiegatectl).
bool record_tool_act(const std::string& state_dir, std::shared_ptr<const crypto::KeyRing> keys,
                     daemon::AuditRecord r);

/// False (after saying why) while a hiegated runs on `state_dir`: a
/// command that changes the state directly (`what`) must not run beside it.
bool daemon_stopped(const std::string& state_dir, const std::string& what);

}  // namespace hiegate::ctl
