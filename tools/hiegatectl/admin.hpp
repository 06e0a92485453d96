// `hiegatectl users|consents|cache ...`: the facility's registries and its
// cache of other facilities' documents, administered through the running
// daemon's local API (every change is audited there under the user --as
// names). Exit codes: 0 done, 1 refused (code and message on stderr), 2
// usage error or the daemon unreachable.
#pragma once

namespace hiegate::tools {
/// users list|show|set|remove (see hiegatectl(8))
int users_main(int argc, char** argv);
/// consents show|register|withdraw|expiring
int consents_main(int argc, char** argv);
/// cache purge [--expired-only]
int cache_main(int argc, char** argv);
}  // namespace hiegate::tools
