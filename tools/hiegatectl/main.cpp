// hiegatectl — facility IT's command line for hiegate. See hiegatectl(8).
#include "cli.hpp"
#include "hiegatectl/admin.hpp"
#include "hiegatectl/audit.hpp"
#include "hiegatectl/backup.hpp"
#include "hiegatectl/config_cmds.hpp"
#include "hiegatectl/csr.hpp"
#include "hiegatectl/directives.hpp"
#include "hiegatectl/keygen.hpp"
#include "hiegatectl/store.hpp"

int main(int argc, char** argv) {
  using namespace hiegate::tools;
  const std::vector<Command> commands = {
      {"check-config", "validate a configuration file", check_config_main},
      {"status", "show the running gateway's status", status_main},
      {"token", "make a local API bearer token (token new)", token_main},
      {"keygen", "write a new master key (--out FILE)", keygen_main},
      {"csr", "make this gateway's TLS key and certificate request", csr_main},
      {"directives", "signed orders: show, apply, fingerprint, check-anchor", directives_main},
      {"users", "registered users: list, show, set, remove", users_main},
      {"consents", "patients' consents: show, register, withdraw, expiring", consents_main},
      {"cache", "other facilities' documents cached here: purge", cache_main},
      {"store", "encrypted store: check, rekey, status", store_main},
      {"backup", "consistent encrypted backup (--to FILE)", backup_main},
      {"restore", "restore a backup (--from FILE [--force])", restore_main},
      {"audit", "audit trail: verify, checkpoints, report, export", audit_main},
  };
  return dispatch("hiegatectl", argc, argv, commands);
}
