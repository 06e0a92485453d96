// hiegate-secretariat — the secretariat's tool. See hiegate-secretariat(8).
#include "cli.hpp"
#include "secretariat/ca.hpp"
#include "secretariat/directive_cmds.hpp"

int main(int argc, char** argv) {
  using namespace hiegate::tools;
  const std::vector<Command> commands = {
      {"ca", "the regional CA: init, issue, revoke, crl", ca_main},
      {"pki", "a throw-away PKI for demos and tests (pki dev-network)", pki_main},
      {"keys", "officer signing keys: new, pub", keys_main},
      {"keyset", "keyset bodies: init, rotate", keyset_main},
      {"orders", "orders bodies: new, add, remove", orders_main},
      {"sign", "sign a body with one officer key (detached)", sign_main},
      {"combine", "combine detached signatures into an envelope", combine_main},
      {"heartbeat", "make and sign a heartbeat with the online key", heartbeat_main},
      {"push", "deliver envelopes to gateways over mutual TLS", push_main},
      {"status", "ask gateways what they hold and their mode", status_main},
      {"serve", "serve the current orders for gateways to pull", serve_main},
  };
  return dispatch("hiegate-secretariat", argc, argv, commands);
}
