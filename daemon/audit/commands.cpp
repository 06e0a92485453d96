#include "hiegate/daemon/audit_commands.hpp"

#include <chrono>
#include <istream>
#include <ostream>

#include "audit/syslog.hpp"
#include "hiegate/policy/rfc3339.hpp"

namespace hiegate::daemon::audit_commands {

namespace {

int fail(const Error& e, std::ostream& err) {
  err << "error (" << e.code << "): " << e.message << "\n";
  return 1;
}

std::string when(std::int64_t ms) {
  return policy::format_rfc3339(policy::Time(std::chrono::seconds(ms / 1000)));
}

std::string or_dash(const std::string& s) { return s.empty() ? "-" : s; }

}  // namespace

int verify(AuditReader& reader, const std::optional<std::vector<AuditCheckpoint>>& external, std::ostream& out,
           std::ostream& err) {
  auto rep = external ? reader.verify_against_external(*external) : reader.verify();
  if (!rep) return fail(rep.error(), err);
  out << "records " << rep->first_seq << ".." << rep->last_seq << " (" << rep->records << " stored), "
      << rep->checkpoints << " checkpoints";
  if (external) out << ", " << external->size() << " external checkpoints";
  out << "\n";
  if (rep->ok()) {
    out << "ok: the audit trail is intact\n";
    return 0;
  }
  out << "FAILED: " << rep->findings.size() << " problem(s); the first is at record " << rep->findings[0].seq << "\n";
  for (const auto& f : rep->findings) out << "  " << f.kind << " at " << f.seq << ": " << f.message << "\n";
  return 1;
}

int checkpoints(AuditReader& reader, std::ostream& out, std::ostream& err) {
  auto cps = reader.checkpoints();
  if (!cps) return fail(cps.error(), err);
  for (const auto& c : *cps) out << checkpoint_to_json(c) << "\n";
  return 0;
}

Result<std::vector<AuditCheckpoint>> read_checkpoints(std::istream& in) {
  std::vector<AuditCheckpoint> out;
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    auto c = checkpoint_from_json(line);
    if (!c) return make_error(c.error().code, "line " + std::to_string(n) + ": " + c.error().message);
    out.push_back(std::move(c).value());
  }
  return out;
}

int report(AuditReader& reader, const AuditQuery& q, std::ostream& out, std::ostream& err) {
  auto rows = reader.query(q);
  if (!rows) return fail(rows.error(), err);
  for (const auto& e : *rows) {
    const auto& r = e.record;
    out << when(r.time_ms) << " #" << e.seq << " " << r.event << " action=" << static_cast<char>(r.action)
        << " outcome=" << static_cast<int>(r.outcome) << " user=" << or_dash(r.user) << " role=" << or_dash(r.role)
        << " facility=" << or_dash(r.facility) << " peer=" << or_dash(r.peer_facility)
        << " purpose=" << or_dash(r.purpose) << " reason=" << or_dash(r.reason_code);
    if (!r.document_ids.empty()) {
      out << " documents=";
      for (std::size_t i = 0; i < r.document_ids.size(); ++i) out << (i ? "," : "") << r.document_ids[i];
    }
    if (r.emergency) out << " EMERGENCY";
    if (!r.detail.empty()) out << " detail=\"" << r.detail << "\"";
    out << "\n";
  }
  out << rows->size() << " record(s)\n";
  return 0;
}

int export_jsonl(AuditReader& reader, bool with_patient, std::ostream& out, std::ostream& err) {
  auto st = reader.for_each(1, [&](const AuditEntry& e, std::string_view h) {
    out << entry_to_json(e, h, with_patient) << "\n";
    return out ? Status{} : Status(make_error("write_failed", "cannot write the export"));
  });
  return st ? 0 : fail(st.error(), err);
}

int export_syslog(AuditReader& reader, std::string_view hostname, std::ostream& out, std::ostream& err) {
  auto st = reader.for_each(1, [&](const AuditEntry& e, std::string_view h) {
    const std::string m = audit::format_syslog(e, h, hostname);
    out << m.size() << ' ' << m;
    return out ? Status{} : Status(make_error("write_failed", "cannot write the export"));
  });
  return st ? 0 : fail(st.error(), err);
}

}  // namespace hiegate::daemon::audit_commands
