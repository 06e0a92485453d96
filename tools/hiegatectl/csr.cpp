#include "hiegatectl/csr.hpp"

#include <cstdio>
#include <string>

#include "common/flag_args.hpp"
#include "hiegate/transport/pki.hpp"

namespace hiegate::tools {

int csr_main(int argc, char** argv) {
  const FlagArgs args(argc, argv, 1, {"--facility", "--network", "--out"}, {"--secretariat"});
  const auto facility = args.get("--facility");
  const auto network = args.get("--network");
  const auto out = args.get("--out");
  const bool secretariat = args.get("--secretariat").has_value();
  if (!args.error.empty() || !network || !out || facility.has_value() == secretariat || !args.positional.empty()) {
    std::fprintf(stderr, "%s%susage: hiegatectl csr (--facility CODE | --secretariat) --network ID --out DIR\n",
                 args.error.c_str(), args.error.empty() ? "" : "\n");
    return 2;
  }
  transport::PeerIdentity id{secretariat ? transport::PeerIdentity::Kind::secretariat
                                         : transport::PeerIdentity::Kind::facility,
                             *network, facility.value_or("")};
  if (!transport::is_network_id(id.network) || (!secretariat && !transport::is_facility_code(id.facility))) {
    std::fprintf(stderr, "csr: the facility code must be 10 digits and the network id [a-z0-9-]{1,32}\n");
    return 2;
  }
  auto st = transport::pki::write_csr(id, *out);
  if (!st) {
    std::fprintf(stderr, "csr: %s: %s\n", st.error().code.c_str(), st.error().message.c_str());
    return 1;
  }
  std::printf("wrote %s/key.pem (keep it secret) and %s/csr.pem for %s\n", out->c_str(), out->c_str(),
              id.uri().c_str());
  return 0;
}

}  // namespace hiegate::tools
