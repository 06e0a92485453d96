// Private: the [tunnels] reader, called by config.cpp's load.
#pragma once

#include "config_reader.hpp"
#include "hiegate/daemon/tunnels_config.hpp"

namespace hiegate::daemon::config_detail {

/// Reads [tunnels] (absent: no tunnels) from the root section `top`.
void read_tunnels(Section& top, TunnelsConfig& out);

}  // namespace hiegate::daemon::config_detail
