// Fuzz target: the configuration loader (TOML parse + validation).
#include <cstdint>
#include <string_view>

#include "hiegate/daemon/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto load = hiegate::daemon::parse_config(text, "fuzz.toml");
  if (load.ok()) {
    (void)load.config->local_api.listen.size();
  } else {
    (void)load.report();
  }
  return 0;
}
