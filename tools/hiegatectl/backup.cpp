#include "hiegatectl/backup.hpp"

#include <ctime>

#include "hiegate/daemon/backup.hpp"
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
  auto m = daemon::backup_store(ctl::option(*o, "--state-dir", ctl::kDefaultStateDir), *keys, to,
                                static_cast<std::int64_t>(std::time(nullptr)));
  if (!m) return ctl::fail(m.error());
  std::printf("backup %s (%llu bytes, sha256 %s)\nmanifest %s\n", to.c_str(),
              static_cast<unsigned long long>(m->size), m->sha256.c_str(), daemon::manifest_path(to).c_str());
  for (const auto& [v, fp] : m->fingerprints) std::printf("needs key version %u, fingerprint %s\n", v, fp.c_str());
  return 0;
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
  if (auto s = daemon::restore_store(dir, *keys, o->at("--from"), o->count("--force") != 0); !s) {
    return ctl::fail(s.error());
  }
  std::printf("restored %s into %s\n", o->at("--from").c_str(), dir.c_str());
  return 0;
}
