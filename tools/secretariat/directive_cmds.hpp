// hiegate-secretariat commands for signed directives
// (shared/spec/directives.md). Each takes argv[0] = its group name and
// returns 0 on success, 1 when refused (bad input, verification or a peer
// refusing), 2 on usage errors. Messages go to stderr, results to stdout.
#pragma once

namespace hiegate::tools {

/// keys new --out FILE | keys pub FILE
int keys_main(int argc, char** argv);
/// keyset init --root PUB... --root-threshold N --orders PUB... --orders-threshold N
///              --heartbeat PUB... --heartbeat-threshold N --network ID --out BODY
/// keyset rotate --from CURRENT_BODY [--root ... --orders ... --heartbeat ...] --out BODY
int keyset_main(int argc, char** argv);
/// orders new --network ID --keyset-version N [--from CURRENT] --out BODY
/// orders add ACTION --id ID --audience "*"|CODE,... --reason R [...] BODY
/// orders remove ID BODY
int orders_main(int argc, char** argv);
/// sign --key FILE --type T BODY --out SIG
int sign_main(int argc, char** argv);
/// combine --type T BODY SIG... --out ENVELOPE
int combine_main(int argc, char** argv);
/// heartbeat --key FILE --network ID --keyset-version N --sequence N --orders BODY
///           [--valid-for 24h] --out ENVELOPE
int heartbeat_main(int argc, char** argv);
/// push --to all|CODE... --envelope FILE... --peers FILE.toml --cert DIR
///      [--ca FILE --crl FILE --timeout 30s]
int push_main(int argc, char** argv);
int status_main(int argc, char** argv);
/// serve --envelope FILE... --network ID --cert DIR [--ca FILE --crl FILE
///       --listen ADDRESS --port 8472 --path /peer/v1/orders]
int serve_main(int argc, char** argv);

}  // namespace hiegate::tools
