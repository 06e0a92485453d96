// The logic of `hiegatectl audit ...`, kept in the library so it can be
// tested without the binary: each function writes human or JSON Lines output
// to `out` and returns the process exit code (0 ok, 1 problem found or
// error). Errors are printed to `err`.
#pragma once

#include <iosfwd>
#include <optional>
#include <vector>

#include "hiegate/daemon/audit.hpp"

namespace hiegate::daemon::audit_commands {

/// `audit verify [--external FILE]`: walks the trail (and the external
/// checkpoints, if given); prints a summary and every finding.
int verify(AuditReader& reader, const std::optional<std::vector<AuditCheckpoint>>& external, std::ostream& out,
           std::ostream& err);
/// `audit checkpoints`: one JSON object per line, with the public key.
int checkpoints(AuditReader& reader, std::ostream& out, std::ostream& err);
/// Parses the output of checkpoints() (blank lines ignored).
Result<std::vector<AuditCheckpoint>> read_checkpoints(std::istream& in);
/// `audit report --patient|--user|--emergency [--from --to]`: one line per
/// record, oldest first, then a count.
int report(AuditReader& reader, const AuditQuery& q, std::ostream& out, std::ostream& err);
/// `audit export [--with-patient]`: every record as JSON Lines.
int export_jsonl(AuditReader& reader, bool with_patient, std::ostream& out, std::ostream& err);
/// `audit export --format syslog`: every record as the RFC 5424 message the
/// live forwarder sends ([audit] syslog), each framed by octet counting
/// ("LENGTH SP MESSAGE", RFC 6587 / RFC 5425), so that a field may hold any
/// byte and the file can be replayed to a collector as it is.
int export_syslog(AuditReader& reader, std::string_view hostname, std::ostream& out, std::ostream& err);

}  // namespace hiegate::daemon::audit_commands
