// hiegatectl directives show: what the running daemon holds from the
// secretariat (GET /v1/directives) and the mode it makes.
#include <cstdio>
#include <iostream>
#include <string>

#include "hiegatectl/directives.hpp"
#include "hiegatectl/online.hpp"

namespace {

using nlohmann::json;

std::string str(const json& j, const char* key) {
  if (!j.is_object() || !j.contains(key) || j[key].is_null()) return "-";
  return j[key].is_string() ? j[key].get<std::string>() : j[key].dump();
}

void print(const json& j) {
  const auto& mode = j["mode"];
  std::printf("facility %s in network %s: mode %s%s\n", str(j, "facility").c_str(), str(j, "network").c_str(),
              str(mode, "state").c_str(), j.value("failsafe", false) ? " (FAILSAFE)" : "");
  if (j.contains("failsafe_reason")) std::printf("  failsafe: %s\n", str(j, "failsafe_reason").c_str());
  std::printf("  allowed: %s\n", mode.contains("allowed") ? mode["allowed"].dump().c_str() : "[]");
  const auto& ks = j["keyset"];
  std::printf("keyset version %s, issued %s\n", str(ks, "version").c_str(), str(ks, "issued_at").c_str());
  const auto& hb = j["heartbeat"];
  if (hb.is_null()) {
    std::printf("heartbeat: none held\n");
  } else {
    std::printf("heartbeat %s, issued %s, expires %s%s (names orders %s)\n", str(hb, "sequence").c_str(),
                str(hb, "issued_at").c_str(), str(hb, "expires_at").c_str(),
                hb.value("expired", false) ? " EXPIRED" : "", str(hb, "orders_sequence").c_str());
  }
  const auto& orders = j["orders"];
  if (orders.is_null()) {
    std::printf("orders: none held\n");
    return;
  }
  std::printf("orders %s, issued %s: %zu order(s)\n", str(orders, "sequence").c_str(),
              str(orders, "issued_at").c_str(), orders["orders"].size());
  for (const auto& o : orders["orders"]) {
    std::printf("  %-8s %-16s %-15s reason %-13s audience %s", o.value("in_force", false) ? "IN FORCE" : "-",
                str(o, "id").c_str(), str(o, "action").c_str(), str(o, "reason").c_str(), str(o, "audience").c_str());
    if (o.contains("not_before")) std::printf(" from %s", str(o, "not_before").c_str());
    if (o.contains("not_after")) std::printf(" until %s", str(o, "not_after").c_str());
    for (const char* k : {"allow", "user", "facility", "purge_before"}) {
      if (o.contains(k)) std::printf(" %s %s", k, str(o, k).c_str());
    }
    std::printf("\n");
  }
}

}  // namespace

int directives_show_main(int argc, char** argv) {
  using namespace hiegate::tools;
  Args args(argc, argv, {"socket", "token-file"}, {"help", "json"});
  if (!args.ok() || !args.positional().empty() || args.flag("help")) {
    std::cerr << (args.ok() ? "" : "hiegatectl: " + args.error() + "\n")
              << "usage: hiegatectl directives show [options]\n"
                 "  What the running gateway holds from the secretariat (keyset, orders\n"
                 "  with the ones in force for this facility, heartbeat) and the mode.\n"
              << kOnlineOptions;
    return args.flag("help") ? 0 : 2;
  }
  auto conn = Online::from(args);
  if (!conn) return 1;
  json j;
  if (const int rc = conn->call("GET", "/v1/directives", nullptr, j); rc != 0) return rc;
  if (args.flag("json")) {
    std::cout << j.dump(2) << "\n";
  } else {
    print(j);
  }
  return 0;
}
