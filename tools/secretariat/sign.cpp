// sign, combine, heartbeat: each officer signs a body on their own machine
// into a detached signature file; combine gathers them into the DSSE
// envelope the gateways verify. heartbeat does all three with the online key.
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "secretariat/cmd_util.hpp"
#include "secretariat/directive_cmds.hpp"
#include "secretariat/documents.hpp"

namespace hiegate::tools {
namespace {

using namespace secretariat;

constexpr const char* kSignUsage =
    "usage: hiegate-secretariat sign --key FILE --type keyset|orders|heartbeat BODY --out SIG\n";
constexpr const char* kCombineUsage =
    "usage: hiegate-secretariat combine --type keyset|orders|heartbeat BODY SIG... --out ENVELOPE\n";
constexpr const char* kHeartbeatUsage =
    "usage: hiegate-secretariat heartbeat --key FILE --network ID --keyset-version N\n"
    "         --sequence N --orders BODY [--valid-for 24h] --out ENVELOPE\n";

}  // namespace

int sign_main(int argc, char** argv) {
  Args args(argc, argv, {"key", "type", "out"});
  if (!args.ok()) return usage_error(kSignUsage, args.error());
  if (!args.get("key") || !args.get("type") || !args.get("out") || args.positional().size() != 1)
    return usage_error(kSignUsage);
  auto kind = parse_kind(*args.get("type"));
  if (!kind) return usage_error(kSignUsage, kind.error().message);
  auto key = read_secret_key(*args.get("key"));
  if (!key) return refused(key.error());
  auto body = read_file(args.positional()[0]);
  if (!body) return refused(body.error());
  auto sig = sign_body(*kind, *body, *key);
  if (!sig) return refused(sig.error());
  if (auto w = write_file_atomic(*args.get("out"), encode_signature(*sig)); !w)
    return refused(w.error());
  std::printf("signed %s body sha256 %s with key %s\n", args.get("type")->c_str(),
              sig->body_sha256.c_str(), sig->keyid.c_str());
  return 0;
}

int combine_main(int argc, char** argv) {
  Args args(argc, argv, {"type", "out"});
  if (!args.ok()) return usage_error(kCombineUsage, args.error());
  const auto& pos = args.positional();
  if (!args.get("type") || !args.get("out") || pos.size() < 2) return usage_error(kCombineUsage);
  auto kind = parse_kind(*args.get("type"));
  if (!kind) return usage_error(kCombineUsage, kind.error().message);
  auto body = read_file(pos[0]);
  if (!body) return refused(body.error());
  std::vector<DetachedSignature> sigs;
  for (std::size_t i = 1; i < pos.size(); ++i) {
    auto text = read_file(pos[i], 64 * 1024);
    if (!text) return refused(text.error());
    auto sig = decode_signature(*text);
    if (!sig) return refused(make_error(sig.error().code, pos[i] + ": " + sig.error().message));
    sigs.push_back(std::move(*sig));
  }
  auto env = combine(*kind, *body, sigs);
  if (!env) return refused(env.error());
  if (auto w = write_file_atomic(*args.get("out"), *env); !w) return refused(w.error());
  std::printf("%s envelope with %zu signature(s) written to %s\n", args.get("type")->c_str(),
              sigs.size(), args.get("out")->c_str());
  return 0;
}

int heartbeat_main(int argc, char** argv) {
  Args args(argc, argv, {"key", "network", "keyset-version", "sequence", "orders", "valid-for", "out"});
  if (!args.ok()) return usage_error(kHeartbeatUsage, args.error());
  std::string err;
  const auto kv = count_option(args, "keyset-version", err);
  const auto seq = count_option(args, "sequence", err);
  if (!kv || !seq || !args.get("key") || !args.get("network") || !args.get("orders") ||
      !args.get("out") || !args.positional().empty())
    return usage_error(kHeartbeatUsage, err);
  auto valid = parse_duration(args.get("valid-for").value_or("24h"));
  if (!valid) return usage_error(kHeartbeatUsage, valid.error().message);
  auto key = read_secret_key(*args.get("key"));
  if (!key) return refused(key.error());
  auto orders = read_file(*args.get("orders"));
  if (!orders) return refused(orders.error());
  const auto now =
      std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
  auto env = signed_heartbeat(*args.get("network"), *kv, *seq, *orders, now, *valid, *key);
  if (!env) return refused(env.error());
  if (auto w = write_file_atomic(*args.get("out"), *env); !w) return refused(w.error());
  std::printf("heartbeat sequence %llu written to %s\n", static_cast<unsigned long long>(*seq),
              args.get("out")->c_str());
  return 0;
}

}  // namespace hiegate::tools
