// keyset init|rotate: the body of keyset version 1, or of version N+1 from N.
// The body is signed afterwards by the root officers (sign, combine); a
// rotation needs the root threshold of both the old and the new keyset.
#include <chrono>
#include <cstdio>
#include <string>

#include "hiegate/policy/directive_bodies.hpp"
#include "secretariat/cmd_util.hpp"
#include "secretariat/directive_cmds.hpp"
#include "secretariat/documents.hpp"

namespace hiegate::tools {
namespace {

using namespace secretariat;

constexpr const char* kUsage =
    "usage: hiegate-secretariat keyset init --network ID --out BODY\n"
    "         --root PUB... --root-threshold N --orders PUB... --orders-threshold N\n"
    "         --heartbeat PUB... --heartbeat-threshold N\n"
    "       hiegate-secretariat keyset rotate --from CURRENT_BODY --out BODY\n"
    "         [--root PUB... --root-threshold N] [--orders ...] [--heartbeat ...]\n"
    "PUB is a base64 public key as printed by 'keys new'; repeat the option per key.\n";

/// Replaces `role` from --<name> and --<name>-threshold when given (both are
/// then required); `required` makes them mandatory.
Status read_role(const Args& args, const std::string& name, bool required,
                 policy::RoleKeys& role) {
  const auto keys = args.all(name);
  const auto threshold = args.get(name + "-threshold");
  if (keys.empty() && !threshold && !required) return {};
  if (keys.empty()) return make_error("usage", "--" + name + " is required");
  if (!threshold) return make_error("usage", "--" + name + "-threshold is required");
  const auto t = parse_count(*threshold);
  if (!t || *t > keys.size())
    return make_error("usage", "--" + name + "-threshold must be between 1 and the number of keys");
  policy::RoleKeys next;
  for (const auto& k : keys) {
    auto pk = parse_public_key(k);
    if (!pk) return std::move(pk).error();
    next.keys.push_back(*pk);
  }
  next.threshold = static_cast<std::uint32_t>(*t);
  role = std::move(next);
  return {};
}

}  // namespace

int keyset_main(int argc, char** argv) {
  if (argc < 2) return usage_error(kUsage);
  const std::string cmd = argv[1];
  Args args(argc - 1, argv + 1,
            {"root", "root-threshold", "orders", "orders-threshold", "heartbeat",
             "heartbeat-threshold", "network", "out", "from"});
  if (!args.ok()) return usage_error(kUsage, args.error());
  const auto out = args.get("out");
  if (!out || !args.positional().empty() || (cmd != "init" && cmd != "rotate"))
    return usage_error(kUsage);
  const bool init = cmd == "init";

  policy::Keyset ks;
  if (init) {
    if (!args.get("network") || args.get("from")) return usage_error(kUsage);
    ks.network = *args.get("network");
    ks.version = 1;
  } else {
    if (!args.get("from") || args.get("network")) return usage_error(kUsage);
    auto text = read_file(*args.get("from"));
    if (!text) return refused(text.error());
    auto current = policy::parse_keyset_body(*text);
    if (!current) return refused(current.error());
    ks = std::move(*current);
    ks.version += 1;
  }
  ks.issued_at = std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
  for (auto [name, role] : {std::pair{"root", &ks.root}, std::pair{"orders", &ks.orders},
                            std::pair{"heartbeat", &ks.heartbeat}}) {
    if (auto ok = read_role(args, name, init, *role); !ok) {
      if (ok.error().code == "usage") return usage_error(kUsage, ok.error().message);
      return refused(ok.error());
    }
  }
  auto body = keyset_body(ks);
  if (!body) return refused(body.error());
  if (auto w = write_file_atomic(*out, *body); !w) return refused(w.error());
  std::printf("keyset version %llu of network %s written to %s\n",
              static_cast<unsigned long long>(ks.version), ks.network.c_str(), out->c_str());
  return 0;
}

}  // namespace hiegate::tools
