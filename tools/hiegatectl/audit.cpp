#include "hiegatectl/audit.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <fstream>
#include <iostream>

#include "hiegate/daemon/audit_commands.hpp"
#include "hiegate/policy/rfc3339.hpp"
#include "hiegatectl/audit_record.hpp"
#include "hiegatectl/store_args.hpp"

namespace {

using namespace hiegate;

int usage() {
  std::fprintf(stderr,
               "usage: hiegatectl audit <command> [--state-dir DIR] [--key FILE]\n"
               "  verify [--external FILE]       check the chain and checkpoints (FILE: from 'checkpoints')\n"
               "  checkpoints [--out FILE]       signed checkpoints as JSON Lines, to keep elsewhere\n"
               "  report --patient ID | --user ID | --emergency [--from TIME] [--to TIME]\n"
               "                                 TIME is RFC 3339 UTC, e.g. 2026-04-01T00:00:00Z\n"
               "  export [--out FILE] [--with-patient]   every record as JSON Lines\n"
               "  export --format syslog [--out FILE]    every record as an RFC 5424 message, octet-counted\n");
  return 2;
}

std::optional<std::int64_t> time_ms(const std::map<std::string, std::string>& o, const std::string& k,
                                    std::int64_t fallback) {
  auto it = o.find(k);
  if (it == o.end()) return fallback;
  auto t = policy::parse_rfc3339(it->second);
  if (!t) {
    std::fprintf(stderr, "error: %s must be RFC 3339 UTC like 2026-04-01T00:00:00Z\n", k.c_str());
    return std::nullopt;
  }
  return std::int64_t{t->time_since_epoch().count()} * 1000;
}

// Output goes to --out (created 0600, never overwritten) or stdout.
template <class Fn>
int with_output(const std::map<std::string, std::string>& o, Fn&& fn) {
  auto it = o.find("--out");
  if (it == o.end()) return fn(std::cout);
  const int fd = ::open(it->second.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    std::fprintf(stderr, "error: cannot create %s (it must not exist yet)\n", it->second.c_str());
    return 1;
  }
  ::close(fd);
  std::ofstream out(it->second, std::ios::trunc);
  const int rc = fn(out);
  out.flush();
  if (!out) {
    std::fprintf(stderr, "error: writing %s failed\n", it->second.c_str());
    return 1;
  }
  return rc;
}

/// A read of the trail that names patients or users is itself recorded,
/// before it runs (a read that cannot be recorded is not done): `report` as
/// audit_report (about the patient asked for), `export` as audit_export.
bool record_read(const std::string& cmd, const std::map<std::string, std::string>& o,
                 std::shared_ptr<const crypto::KeyRing> keys) {
  std::string detail, patient;
  if (cmd == "report") {
    if (auto it = o.find("--patient"); it != o.end()) patient = it->second;
    if (auto it = o.find("--user"); it != o.end()) detail = "user=" + it->second;
    if (o.count("--emergency") != 0) detail += detail.empty() ? "emergency" : " emergency";
  } else {
    detail = "format=" + ctl::option(o, "--format", "jsonl") + (o.count("--with-patient") != 0 ? " with_patient" : "");
  }
  return ctl::record_admin_act(ctl::option(o, "--state-dir", ctl::kDefaultStateDir), std::move(keys),
                               cmd == "report" ? "audit_report" : "audit_export", 'R', true, "", detail, patient);
}

int run(const std::string& cmd, const std::map<std::string, std::string>& o, daemon::AuditReader& reader,
        const std::shared_ptr<const crypto::KeyRing>& keys) {
  namespace ac = daemon::audit_commands;
  if (cmd == "verify") {
    std::optional<std::vector<daemon::AuditCheckpoint>> external;
    if (auto it = o.find("--external"); it != o.end()) {
      std::ifstream in(it->second);
      if (!in) {
        std::fprintf(stderr, "error: cannot read %s\n", it->second.c_str());
        return 1;
      }
      auto cps = ac::read_checkpoints(in);
      if (!cps) return ctl::fail(cps.error());
      external = std::move(cps).value();
    }
    return ac::verify(reader, external, std::cout, std::cerr);
  }
  if (cmd == "checkpoints") return with_output(o, [&](std::ostream& out) { return ac::checkpoints(reader, out, std::cerr); });
  if (cmd == "export") {
    const std::string format = ctl::option(o, "--format", "jsonl");
    if (format == "syslog") {
      if (o.count("--with-patient") != 0) {
        std::fprintf(stderr, "error: --with-patient is for JSON Lines; syslog messages carry the keyed hash only\n");
        return 2;
      }
      char host[256] = {};
      if (::gethostname(host, sizeof host - 1) != 0) std::snprintf(host, sizeof host, "-");
      if (!record_read(cmd, o, keys)) return 1;
      return with_output(o, [&](std::ostream& out) { return ac::export_syslog(reader, host, out, std::cerr); });
    }
    if (format != "jsonl") {
      std::fprintf(stderr, "error: --format is jsonl or syslog, not %s\n", format.c_str());
      return 2;
    }
    if (!record_read(cmd, o, keys)) return 1;
    return with_output(o, [&](std::ostream& out) {
      return ac::export_jsonl(reader, o.count("--with-patient") != 0, out, std::cerr);
    });
  }
  daemon::AuditQuery q;
  if (auto it = o.find("--patient"); it != o.end()) q.patient = it->second;
  if (auto it = o.find("--user"); it != o.end()) q.user = it->second;
  q.emergency_only = o.count("--emergency") != 0;
  if (!q.patient && !q.user && !q.emergency_only) return usage();
  auto from = time_ms(o, "--from", 0), to = time_ms(o, "--to", INT64_MAX);
  if (!from || !to) return 2;
  q.from_ms = *from;
  q.to_ms = *to;
  if (!record_read(cmd, o, keys)) return 1;
  return ac::report(reader, q, std::cout, std::cerr);
}

}  // namespace

int audit_main(int argc, char** argv) {
  if (argc < 2) return usage();
  const std::string cmd = argv[1];
  std::set<std::string> values{"--state-dir", "--key"}, flags;
  if (cmd == "verify") {
    values.insert("--external");
  } else if (cmd == "checkpoints") {
    values.insert("--out");
  } else if (cmd == "export") {
    values.insert({"--out", "--format"});
    flags.insert("--with-patient");
  } else if (cmd == "report") {
    values.insert({"--patient", "--user", "--from", "--to"});
    flags.insert("--emergency");
  } else {
    return usage();
  }
  auto o = ctl::parse_options(argc, argv, 2, values, flags);
  if (!o) return usage();
  auto keys = ctl::load_keys(*o);
  if (!keys) return 1;
  auto reader = daemon::AuditReader::open(ctl::option(*o, "--state-dir", ctl::kDefaultStateDir), keys);
  if (!reader) return ctl::fail(reader.error());
  return run(cmd, *o, **reader, keys);
}
