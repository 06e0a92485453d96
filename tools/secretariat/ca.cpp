#include "secretariat/ca.hpp"

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "common/flag_args.hpp"
#include "hiegate/transport/pki.hpp"

namespace hiegate::tools {
namespace pki = transport::pki;
namespace {

constexpr const char* kCaUsage =
    "usage: hiegate-secretariat ca init --network ID [--days N] [--crl-days N] [--dir DIR]\n"
    "       hiegate-secretariat ca issue --csr FILE [--days N] [--out FILE] [--dir DIR]\n"
    "       hiegate-secretariat ca revoke SERIAL [--crl-days N] [--dir DIR]\n"
    "       hiegate-secretariat ca crl [--crl-days N] [--dir DIR]\n";

int usage(const std::string& error, const char* text) {
  if (!error.empty()) std::fprintf(stderr, "%s\n", error.c_str());
  std::fputs(text, stderr);
  return 2;
}

int report(const Status& st, const char* what) {
  if (st) return 0;
  std::fprintf(stderr, "%s: %s: %s\n", what, st.error().code.c_str(), st.error().message.c_str());
  return 1;
}

}  // namespace

int ca_main(int argc, char** argv) {
  if (argc < 2) return usage("", kCaUsage);
  const std::string sub = argv[1];
  const FlagArgs args(argc, argv, 2, {"--dir", "--network", "--days", "--crl-days", "--csr", "--out"});
  const auto crl_days = args.number("--crl-days", 30);
  if (!args.error.empty() || !crl_days) return usage(args.error, kCaUsage);
  const std::string dir = args.get("--dir").value_or("ca");
  const auto now = std::chrono::system_clock::now();

  if (sub == "init") {
    const auto network = args.get("--network");
    const auto days = args.number("--days", 3650);
    if (!network || !days || !args.positional.empty()) return usage("", kCaUsage);
    return report(pki::ca_init(dir, *network, *days, now, *crl_days), "ca init");
  }
  if (sub == "issue") {
    const auto csr = args.get("--csr");
    const auto days = args.number("--days", 365);
    if (!csr || !days || !args.positional.empty()) return usage("", kCaUsage);
    std::ifstream in(*csr);
    if (!in) return report(make_error("file_missing", "cannot read " + *csr), "ca issue");
    std::stringstream ss;
    ss << in.rdbuf();
    auto cert = pki::ca_issue(dir, ss.str(), {now - std::chrono::minutes(5), now + std::chrono::hours(24) * *days});
    if (!cert) return report(std::move(cert).error(), "ca issue");
    if (const auto out = args.get("--out")) {
      std::ofstream o(*out, std::ios::trunc);
      o << *cert;
      if (!o) return report(make_error("io_error", "cannot write " + *out), "ca issue");
    } else {
      std::fputs(cert->c_str(), stdout);
    }
    auto serial = pki::serial_hex(*cert);
    std::fprintf(stderr, "issued serial %s\n", serial ? serial->c_str() : "?");
    return 0;
  }
  if (sub == "revoke") {
    if (args.positional.size() != 1) return usage("", kCaUsage);
    return report(pki::ca_revoke(dir, args.positional[0], now, *crl_days), "ca revoke");
  }
  if (sub == "crl") {
    if (!args.positional.empty()) return usage("", kCaUsage);
    return report(pki::ca_crl(dir, now, *crl_days), "ca crl");
  }
  return usage(sub == "--help" ? "" : "unknown subcommand " + sub, kCaUsage);
}

int pki_main(int argc, char** argv) {
  constexpr const char* kUsage = "usage: hiegate-secretariat pki dev-network --facilities N --out DIR [--network ID]\n";
  if (argc < 2 || std::string(argv[1]) != "dev-network") return usage("", kUsage);
  const FlagArgs args(argc, argv, 2, {"--facilities", "--out", "--network"});
  const auto n = args.number("--facilities", 0);
  const auto out = args.get("--out");
  if (!args.error.empty() || !n || !out || !args.positional.empty()) return usage(args.error, kUsage);
  auto net = pki::dev_network(*out, args.get("--network").value_or("dev"), *n, std::chrono::system_clock::now());
  if (!net) return report(std::move(net).error(), "pki dev-network");
  std::printf("dev network in %s: CA %s, secretariat %s, %zu facilities\n", out->c_str(), net->ca_dir.c_str(),
              net->secretariat_dir.c_str(), net->facility_codes.size());
  return 0;
}

}  // namespace hiegate::tools
