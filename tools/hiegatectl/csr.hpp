// hiegatectl csr: a facility's P-256 key and certificate request.
#pragma once

namespace hiegate::tools {

/// argv[0] = "csr". Usage: csr --facility CODE --network ID --out DIR
/// Writes DIR/key.pem (0400, never overwritten) and DIR/csr.pem.
int csr_main(int argc, char** argv);

}  // namespace hiegate::tools
