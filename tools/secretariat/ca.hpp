// hiegate-secretariat ca ... and pki ...: the regional CA and dev networks.
#pragma once

namespace hiegate::tools {

/// argv[0] = "ca". Subcommands (all take --dir DIR, default ./ca):
///   ca init --network ID [--days N] [--crl-days N]
///   ca issue --csr FILE [--days N] [--out FILE]   (certificate PEM to stdout without --out)
///   ca revoke SERIAL [--crl-days N]
///   ca crl [--crl-days N]
int ca_main(int argc, char** argv);

/// argv[0] = "pki". pki dev-network --facilities N --out DIR [--network ID]
/// A complete throw-away PKI for development and tests.
int pki_main(int argc, char** argv);

}  // namespace hiegate::tools
