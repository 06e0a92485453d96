// hiegatectl directives apply: delivery on media (shared/spec/directives.md §5).
// Online it hands the file to the running daemon's local API; offline (daemon
// stopped) it verifies and stores it directly, exactly as the daemon would.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

#include "cli.hpp"
#include "hiegate/daemon/directive_api.hpp"
#include "hiegate/daemon/directive_service.hpp"
#include "hiegate/daemon/directive_store.hpp"
#include "hiegate/policy/directive_bodies.hpp"
#include "hiegate/policy/dsse.hpp"
#include "hiegatectl/audit_record.hpp"
#include "hiegatectl/directives.hpp"
#include "hiegatectl/local_client.hpp"
#include "hiegatectl/store_args.hpp"

namespace {

using namespace hiegate;
namespace fs = std::filesystem;

constexpr const char* kUsage =
    "usage: hiegatectl directives apply FILE [--socket PATH] [--token-file F]\n"
    "       hiegatectl directives apply FILE --offline --state-dir DIR --keyset ANCHOR\n"
    "         [--facility CODE] [--key FILE]\n"
    "FILE holds one envelope or a JSON array of envelopes, applied in order.\n"
    "--offline writes DIR/directives directly: only while hiegated is stopped;\n"
    "each envelope's verdict is recorded in the audit trail (key: --key FILE).\n";

/// Prints the daemon's answer; 0 when every envelope was accepted or a no-op.
int report(unsigned status, const std::string& body) {
  const auto j = nlohmann::json::parse(body, nullptr, false);
  std::cout << (j.is_discarded() ? body : j.dump(2)) << "\n";
  if (status == 200) return 0;
  std::cerr << "hiegatectl: refused (HTTP " << status << ")\n";
  return 1;
}

Result<std::string> network_of_anchor(const std::string& anchor) {
  auto env = policy::decode_envelope(anchor);
  if (!env) return std::move(env).error();
  auto ks = policy::parse_keyset_body(env->payload);
  if (!ks) return std::move(ks).error();
  return ks->network;
}

int apply_offline(const tools::Args& args, const std::string& delivery) {
  const auto state_dir = args.get("state-dir");
  const auto keyset = args.get("keyset");
  if (!state_dir || !keyset) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  if (!ctl::daemon_stopped(*state_dir, "directives apply --offline")) return 1;
  // Every verdict is audited (spec §3): without the key to record them,
  // nothing is applied.
  std::map<std::string, std::string> key_option;
  if (const auto key = args.get("key")) key_option["--key"] = *key;
  const auto keys = ctl::load_keys(key_option);
  if (!keys) return 1;
  auto anchor = tools::read_small_file(keyset->c_str());
  if (!anchor) {
    std::fprintf(stderr, "hiegatectl: cannot read %s\n", keyset->c_str());
    return 2;
  }
  auto network = network_of_anchor(*anchor);
  if (!network) {
    std::fprintf(stderr, "hiegatectl: %s is not a keyset envelope: %s\n", keyset->c_str(),
                 network.error().message.c_str());
    return 1;
  }
  policy::VerifierOptions options;
  options.network = *network;
  auto store = daemon::DirectiveStore::open(fs::path(*state_dir) / daemon::kDirectiveStoreSubdir);
  if (!store) {
    std::fprintf(stderr, "hiegatectl: %s\n", store.error().message.c_str());
    return 2;
  }
  auto startup = daemon::start_directives(*store, *anchor, options);
  if (!startup) {
    std::fprintf(stderr, "hiegatectl: the trust anchor is refused: %s: %s\n",
                 startup.error().code.c_str(), startup.error().message.c_str());
    return 1;
  }
  if (startup->failsafe) std::fprintf(stderr, "note: stored state: %s\n", startup->reason.c_str());
  daemon::DirectiveService service(std::move(*store), std::move(*startup), options,
                                   policy::FreshnessOptions{});
  const auto now =
      std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
  std::vector<daemon::AuditRecord> records;
  const auto answer = daemon::deliver_directives(
      service, args.get("facility").value_or(""), delivery, now, "file",
      [&records](std::string_view source, std::size_t index, const Result<policy::Verdict>& v) {
        records.push_back(daemon::directive_audit_record(source, index, v));
      });
  bool recorded = true;
  for (auto& r : records) recorded = ctl::record_tool_act(*state_dir, keys, std::move(r)) && recorded;
  const int rc = report(answer.status, answer.body);
  return recorded ? rc : 1;
}

}  // namespace

int directives_apply_main(int argc, char** argv) {
  tools::Args args(argc, argv, {"socket", "token-file", "state-dir", "keyset", "facility", "key"},
                   {"offline"});
  if (!args.ok() || args.positional().size() != 1) {
    if (!args.ok()) std::fprintf(stderr, "hiegatectl: %s\n", args.error().c_str());
    std::fputs(kUsage, stderr);
    return 2;
  }
  const auto delivery = tools::read_small_file(args.positional()[0].c_str());
  if (!delivery) {
    std::fprintf(stderr, "hiegatectl: cannot read %s (missing, unreadable or over 1 MiB)\n",
                 args.positional()[0].c_str());
    return 2;
  }
  if (args.flag("offline")) return apply_offline(args, *delivery);
  if (args.get("state-dir") || args.get("keyset") || args.get("facility") || args.get("key")) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  auto token = tools::read_token(args.get("token-file"));
  if (!token) {
    std::fprintf(stderr, "hiegatectl: %s\n", token.error().message.c_str());
    return 1;
  }
  tools::LocalClient client(args.get("socket").value_or("/run/hiegate/local.sock"));
  auto res = client.request("POST", "/v1/directives", *token, *delivery, "application/json");
  if (!res) {
    std::fprintf(stderr, "hiegatectl: %s\n", res.error().message.c_str());
    return 1;
  }
  return report(res->status, res->body);
}
