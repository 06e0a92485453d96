// hiegate-secretariat — the secretariat's tool. See hiegate-secretariat(8).
#include "cli.hpp"
#include "secretariat/ca.hpp"

int main(int argc, char** argv) {
  using namespace hiegate::tools;
  const std::vector<Command> commands = {
      {"ca", "the regional CA: init, issue, revoke, crl", ca_main},
      {"pki", "a throw-away PKI for demos and tests (pki dev-network)", pki_main},
  };
  return dispatch("hiegate-secretariat", argc, argv, commands);
}
