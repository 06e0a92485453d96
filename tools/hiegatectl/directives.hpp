// `hiegatectl directives ...`: facility IT's view of secretariat directives.
//   directives fingerprint FILE           SHA-256 of the keyset body, to compare
//                                          with the one the secretariat gave out of band
//   directives check-anchor FILE NETWORK  verify FILE as the keyset v1 trust anchor
//   directives apply FILE [--socket P --token-file F]   hand FILE (an envelope or
//                                          an array of them) to the running daemon
//   directives show [--socket P --token-file F] [--json]   what the running
//                                          daemon holds: keyset, orders, heartbeat, mode
//   directives apply FILE --offline --state-dir DIR --keyset ANCHOR [--facility CODE]
//                                          apply it to DIR/directives, daemon stopped
// Exit codes: 0 ok, 1 refused (reason code on stderr), 2 usage or I/O error.
#pragma once

#include <optional>
#include <string>

namespace hiegate::tools {
/// Whole file of at most 1 MiB; nullopt if missing, unreadable or larger.
std::optional<std::string> read_small_file(const char* path);
}  // namespace hiegate::tools

int directives_main(int argc, char** argv);
/// argv[0] = "show" (called by directives_main).
int directives_show_main(int argc, char** argv);
/// argv[0] = "apply" (called by directives_main).
int directives_apply_main(int argc, char** argv);
