// `hiegatectl directives ...`: facility IT's view of secretariat directives.
//   directives fingerprint FILE           SHA-256 of the keyset body, to compare
//                                          with the one the secretariat gave out of band
//   directives check-anchor FILE NETWORK  verify FILE as the keyset v1 trust anchor
// Exit codes: 0 ok, 1 refused (reason code on stderr), 2 usage or I/O error.
#pragma once

int directives_main(int argc, char** argv);
