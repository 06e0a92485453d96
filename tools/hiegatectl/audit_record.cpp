#include "hiegatectl/audit_record.hpp"

#include <pwd.h>
#include <unistd.h>

#include <cstdio>

#include "hiegate/daemon/audit.hpp"
#include "hiegate/daemon/log.hpp"

namespace hiegate::ctl {

bool record_admin_act(const std::string& state_dir, std::shared_ptr<const crypto::KeyRing> keys,
                      const std::string& event, char action, bool ok, const std::string& code,
                      const std::string& detail, const std::string& patient) {
  daemon::AuditRecord r;
  r.event = event;
  r.action = static_cast<daemon::AuditAction>(action);
  r.outcome = ok ? daemon::AuditOutcome::success : daemon::AuditOutcome::serious_failure;
  r.reason_code = code;
  r.detail = detail;
  r.patient = patient;
  return record_tool_act(state_dir, std::move(keys), std::move(r));
}

bool record_tool_act(const std::string& state_dir, std::shared_ptr<const crypto::KeyRing> keys,
                     daemon::AuditRecord r) {
  const passwd* pw = ::getpwuid(::geteuid());
  r.user = "unix:" + (pw != nullptr ? std::string(pw->pw_name) : std::to_string(::geteuid()));
  r.role = "hiegatectl";
  const std::string event = r.event;
  daemon::AuditOptions o;
  o.dir = state_dir;
  daemon::Logger log(daemon::Logger::Sink::stderr_text, daemon::Level::warning);
  auto where = daemon::record_offline(o, std::move(keys), std::move(r), log);
  if (!where) {
    std::fprintf(stderr, "error (%s): the %s could not be recorded in the audit trail: %s\n",
                 where.error().code.c_str(), event.c_str(), where.error().message.c_str());
    return false;
  }
  std::fprintf(stderr, "audit record %s\n", where->c_str());
  return true;
}

bool daemon_stopped(const std::string& state_dir, const std::string& what) {
  if (!daemon::trail_in_use(state_dir)) return true;
  std::fprintf(stderr,
               "error (daemon_running): hiegated is running on %s; %s changes the state directly and needs it "
               "stopped: systemctl stop hiegate, then try again\n",
               state_dir.c_str(), what.c_str());
  return false;
}

}  // namespace hiegate::ctl
