// hiegatectl — facility IT's command line for hiegate. See hiegatectl(8).
#include "cli.hpp"
#include "hiegatectl/config_cmds.hpp"
#include "hiegatectl/directives.hpp"

int main(int argc, char** argv) {
  using namespace hiegate::tools;
  const std::vector<Command> commands = {
      {"check-config", "validate a configuration file", check_config_main},
      {"token", "make a local API bearer token (token new)", token_main},
      {"status", "show the running gateway's status", status_main},
      {"directives", "signed orders: fingerprint, check-anchor", directives_main},
  };
  return dispatch("hiegatectl", argc, argv, commands);
}
