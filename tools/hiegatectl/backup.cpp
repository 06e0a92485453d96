#include "hiegatectl/backup.hpp"

#include <ctime>

#include "hiegate/daemon/backup.hpp"
#include "hiegatectl/audit_record.hpp"
#include "hiegatectl/store_args.hpp"

int backup_main(int argc, char** argv) {
  using namespace hiegate;
  auto o = ctl::parse_options(argc, argv, 1, {"--to", "--state-dir", "--key"}, {});
  if (!o || o->count("--to") == 0) {
    std::fprintf(stderr, "usage: hiegatectl backup --to FILE [--state-dir DIR] [--key FILE]\n");
    return 2;
  }
  auto keys = ctl::load_keys(*o);
  if (!keys) return 1;
  const std::string to = o->at("--to");
  const std::string dir = ctl::option(*o, "--state-dir", ctl::kDefaultStateDir);
  auto m = daemon::backup_store(dir, *keys, to, static_cast<std::int64_t>(std::time(nullptr)));
  const bool recorded = ctl::record_admin_act(dir, keys, "backup", 'R', m.ok(), m ? "" : m.error().code,
                                              "to=" + to + (m ? " sha256=" + m->sha256 : ""));
  if (!m) return ctl::fail(m.error());
  std::printf("backup %s (%llu bytes, sha256 %s)\nmanifest %s\n", to.c_str(),
              static_cast<unsigned long long>(m->size), m->sha256.c_str(), daemon::manifest_path(to).c_str());
  for (const auto& [v, fp] : m->fingerprints) std::printf("needs key version %u, fingerprint %s\n", v, fp.c_str());
  return recorded ? 0 : 1;
}

int restore_main(int argc, char** argv) {
  using namespace hiegate;
  auto o = ctl::parse_options(argc, argv, 1, {"--from", "--state-dir", "--key"}, {"--force"});
  if (!o || o->count("--from") == 0) {
    std::fprintf(stderr, "usage: hiegatectl restore --from FILE [--force] [--state-dir DIR] [--key FILE]\n");
    return 2;
  }
  auto keys = ctl::load_keys(*o);
  if (!keys) return 1;
  const std::string dir = ctl::option(*o, "--state-dir", ctl::kDefaultStateDir);
  if (!ctl::daemon_stopped(dir, "restore")) return 1;
  const auto st = daemon::restore_store(dir, *keys, o->at("--from"), o->count("--force") != 0);
  const bool recorded = ctl::record_admin_act(dir, keys, "restore", 'U', st.ok(), st ? "" : st.error().code,
                                              "from=" + o->at("--from") + (o->count("--force") != 0 ? " force" : ""));
  if (!st) return ctl::fail(st.error());
  std::printf("restored %s into %s\n", o->at("--from").c_str(), dir.c_str());
  return recorded ? 0 : 1;
}
