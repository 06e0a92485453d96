// hiegate-secretariat — the secretariat's tool. See hiegate-secretariat(8).
#include "cli.hpp"

int main(int argc, char** argv) {
  using namespace hiegate::tools;
  const std::vector<Command> commands = {};
  return dispatch("hiegate-secretariat", argc, argv, commands);
}
