// Reader of the `[policy.export]` config section. Used by config.cpp only.
#pragma once

#include "config_reader.hpp"
#include "hiegate/policy/export_rules.hpp"

namespace hiegate::daemon::config_detail {

/// Reads `[policy.export]` and its kind tables from `policy_section` into
/// `out` (keys left out keep their values in `out`). Unknown keys, bad
/// values and rules policy::ExportPolicy::create refuses are reported to
/// the section's diagnostics with their key path.
void read_export_rules(Section& policy_section, policy::ExportRules& out);

}  // namespace hiegate::daemon::config_detail
