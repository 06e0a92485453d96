#include "hiegatectl/store.hpp"

#include <cstring>

#include "hiegate/daemon/store.hpp"
#include "hiegate/daemon/store_wait.hpp"
#include "hiegatectl/audit_record.hpp"
#include "hiegatectl/store_args.hpp"

namespace {

using namespace hiegate;

int usage() {
  std::fprintf(stderr, "usage: hiegatectl store check|rekey|status [--state-dir DIR] [--key FILE]\n");
  return 2;
}

int check(daemon::Store& store) {
  auto r = daemon::wait_for<daemon::CheckReport>([&](auto cb) { store.check(cb); });
  if (!r) return ctl::fail(r.error());
  std::printf("sqlite: %s\nchecked %llu records, %zu failed\n", r->sqlite_check.c_str(),
              static_cast<unsigned long long>(r->checked), r->failures.size());
  for (const auto& f : r->failures) {
    std::printf("  %s %s %s (quarantined)\n", f.table.c_str(), f.key_hash_hex.c_str(), f.code.c_str());
  }
  return r->failures.empty() && r->sqlite_check == "ok" ? 0 : 1;
}

int status(daemon::Store& store) {
  const auto st = store.rekey_status();
  if (!st.running) {
    std::printf("key version %u; no rekey pending\n", st.to_version);
  } else {
    std::printf("rekey from key version %u to %u: %llu of %llu records done\n", st.from_version, st.to_version,
                static_cast<unsigned long long>(st.done), static_cast<unsigned long long>(st.total));
  }
  return 0;
}

int rekey(daemon::Store& store) {
  auto st = store.rekey_status();
  if (!st.running) {
    std::printf("nothing to do: every record uses key version %u\n", st.to_version);
    return 0;
  }
  std::printf("re-encrypting %llu records from key version %u to %u (%llu already done)\n",
              static_cast<unsigned long long>(st.total), st.from_version, st.to_version,
              static_cast<unsigned long long>(st.done));
  for (;;) {
    auto step = daemon::wait_for<daemon::RekeyStatus>([&](auto cb) { store.rekey_step(cb); });
    if (!step) return ctl::fail(step.error());
    std::printf("  %llu / %llu\n", static_cast<unsigned long long>(step->done),
                static_cast<unsigned long long>(step->total));
    if (!step->running) break;
  }
  std::printf("done; the files of older key versions may now be removed\n");
  return 0;
}

}  // namespace

int store_main(int argc, char** argv) {
  if (argc < 2) return usage();
  const std::string cmd = argv[1];
  if (cmd != "check" && cmd != "rekey" && cmd != "status") return usage();
  auto o = ctl::parse_options(argc, argv, 2, {"--state-dir", "--key"}, {});
  if (!o) return usage();
  auto keys = ctl::load_keys(*o);
  if (!keys) return 1;
  daemon::StoreOptions opt;
  opt.dir = ctl::option(*o, "--state-dir", ctl::kDefaultStateDir);
  // Opening the store may migrate it, clear a crash's staged uploads and
  // quarantine damaged rows: never beside the daemon.
  if (!ctl::daemon_stopped(opt.dir.string(), "store " + cmd)) return 1;
  opt.reader_threads = 1;
  opt.rekey_batch_rows = 256;
  auto store = daemon::Store::open(opt, keys);
  if (!store) return ctl::fail(store.error());
  if (cmd == "status") return status(**store);
  if (cmd == "check") return check(**store);
  const auto before = (*store)->rekey_status();
  const int rc = rekey(**store);
  if (!before.running) return rc;
  store->reset();  // the store's threads end before the trail is touched
  const bool recorded = ctl::record_admin_act(
      opt.dir.string(), keys, "key_operation", 'E', rc == 0, rc == 0 ? "" : "rekey_failed",
      "rekey from key version " + std::to_string(before.from_version) + " to " + std::to_string(before.to_version) +
          (rc == 0 ? " finished" : " interrupted"));
  return recorded ? rc : 1;
}
