// Private: the [tunnels] and [audit] readers, called by config.cpp's load.
#pragma once

#include "config_reader.hpp"
#include "hiegate/daemon/config.hpp"
#include "hiegate/daemon/tunnels_config.hpp"

namespace hiegate::daemon::config_detail {

/// Reads [tunnels] (absent: no tunnels) from the root section `top`.
void read_tunnels(Section& top, TunnelsConfig& out);

/// Reads [audit] (config_audit.cpp).
void read_audit(Section& s, Config::Audit& a);

}  // namespace hiegate::daemon::config_detail
