// keys new|pub: an officer's Ed25519 key, kept on the officer's own machine.
#include <cstdio>
#include <string>

#include "cli.hpp"
#include "hiegate/crypto/encoding.hpp"
#include "hiegate/policy/dsse.hpp"
#include "secretariat/directive_cmds.hpp"
#include "secretariat/documents.hpp"

namespace hiegate::tools {
namespace {

int usage() {
  std::fputs("usage: hiegate-secretariat keys new --out FILE\n"
             "       hiegate-secretariat keys pub FILE\n",
             stderr);
  return 2;
}

void print_public(const crypto::Ed25519PublicKey& k) {
  std::printf("public %s\nkeyid %s\n", crypto::to_base64(k).c_str(),
              policy::keyid_of(k).c_str());
}

}  // namespace

int keys_main(int argc, char** argv) {
  if (argc < 2) return usage();
  const std::string cmd = argv[1];
  Args args(argc - 1, argv + 1, {"out"});
  if (!args.ok()) {
    std::fprintf(stderr, "%s\n", args.error().c_str());
    return 2;
  }
  if (cmd == "new" && args.positional().empty() && args.get("out")) {
    auto kp = crypto::ed25519_generate();
    if (!kp) {
      std::fprintf(stderr, "%s\n", kp.error().message.c_str());
      return 1;
    }
    if (auto w = secretariat::write_secret_key(*args.get("out"), kp->secret_key); !w) {
      std::fprintf(stderr, "%s\n", w.error().message.c_str());
      return 1;
    }
    print_public(kp->public_key);
    return 0;
  }
  if (cmd == "pub" && args.positional().size() == 1) {
    auto kp = secretariat::read_secret_key(args.positional()[0]);
    if (!kp) {
      std::fprintf(stderr, "%s: %s\n", kp.error().code.c_str(), kp.error().message.c_str());
      return 1;
    }
    print_public(kp->public_key);
    return 0;
  }
  return usage();
}

}  // namespace hiegate::tools
