#include "hiegatectl/keygen.hpp"

#include "hiegate/crypto/keys.hpp"
#include "hiegatectl/store_args.hpp"

int keygen_main(int argc, char** argv) {
  using namespace hiegate;
  auto o = ctl::parse_options(argc, argv, 1, {"--out"}, {});
  if (!o || o->count("--out") == 0) {
    std::fprintf(stderr, "usage: hiegatectl keygen --out FILE\n");
    return 2;
  }
  const std::string out = o->at("--out");
  if (auto s = crypto::write_new_master_key(out); !s) return ctl::fail(s.error());
  std::printf("wrote a new master key to %s (mode 0400); make it owned by the service user: chown hiegate: %s\n",
              out.c_str(), out.c_str());
  return 0;
}
