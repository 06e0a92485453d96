#include "hiegatectl/directives.hpp"

#include <cstdio>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>

#include "hiegate/crypto/encoding.hpp"
#include "hiegate/policy/directives.hpp"

namespace hiegate::tools {

std::optional<std::string> read_small_file(const char* path) {
  constexpr std::size_t kMaxFile = 1 << 20;
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::string data;
  char buf[8192];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    data.append(buf, static_cast<std::size_t>(in.gcount()));
    if (data.size() > kMaxFile) return std::nullopt;
  }
  return data;
}

}  // namespace hiegate::tools

namespace {

using namespace hiegate;

int usage() {
  std::fputs(
      "usage: hiegatectl directives fingerprint FILE\n"
      "       hiegatectl directives check-anchor FILE NETWORK\n"
      "       hiegatectl directives apply FILE [...]   (see 'directives apply')\n"
      "       hiegatectl directives show [--socket PATH] [--token-file FILE] [--json]\n",
      stderr);
  return 2;
}

int refused(const Error& e) {
  std::fprintf(stderr, "refused: %s: %s\n", e.code.c_str(), e.message.c_str());
  return 1;
}

void print_role(const char* name, const policy::RoleKeys& r) {
  std::printf("  %-9s threshold %u of %zu:", name, r.threshold, r.keys.size());
  for (const auto& k : r.keys) std::printf(" %s", policy::keyid_of(k).c_str());
  std::printf("\n");
}

}  // namespace

int directives_main(int argc, char** argv) {
  if (argc >= 2 && std::string_view(argv[1]) == "show") return directives_show_main(argc - 1, argv + 1);
  if (argc < 3) return usage();
  const std::string_view cmd = argv[1];
  if (cmd == "apply") return directives_apply_main(argc - 1, argv + 1);
  const auto bytes = tools::read_small_file(argv[2]);
  if (!bytes) {
    std::fprintf(stderr, "cannot read %s (missing, unreadable or over 1 MiB)\n", argv[2]);
    return 2;
  }
  if (cmd == "fingerprint" && argc == 3) {
    auto fp = policy::trust_anchor_fingerprint(*bytes);
    if (!fp) return refused(fp.error());
    std::printf("%s\n", fp->c_str());
    return 0;
  }
  if (cmd == "check-anchor" && argc == 4) {
    policy::VerifierOptions options;
    options.network = argv[3];
    auto state = policy::install_trust_anchor(*bytes, options);
    if (!state) return refused(state.error());
    const policy::Keyset& ks = state->current_keyset();
    std::printf("keyset version %llu of network %s, issued %s\n",
                static_cast<unsigned long long>(ks.version), ks.network.c_str(),
                policy::format_rfc3339(ks.issued_at).c_str());
    print_role("root", ks.root);
    print_role("orders", ks.orders);
    print_role("heartbeat", ks.heartbeat);
    std::printf("fingerprint %s\n", policy::trust_anchor_fingerprint(*bytes)->c_str());
    return 0;
  }
  return usage();
}
