#include "hiegate/policy/export_rules.hpp"

#include <set>

namespace hiegate::policy {
namespace {

Error config_error(std::string_view key, std::string_view what) {
  return make_error("config_invalid", "policy.export." + std::string(key) + ": " + std::string(what));
}

Status validate_kind(ExportKind k, const KindRules& r) {
  const std::string prefix = std::string(name(k)) + ".";
  if (r.daily_quota < 1 || r.daily_quota > 100000) {
    return config_error(prefix + "daily_quota",
                        "must be 1-100000 (close a kind with roles = [] instead)");
  }
  std::set<std::string_view> seen;
  for (const std::string& role : r.roles) {
    if (role.empty() || role.size() > 64) return config_error(prefix + "roles", "role names are 1-64 characters");
    if (!seen.insert(role).second) return config_error(prefix + "roles", "duplicate role " + role);
  }
  if (k == ExportKind::secondary_use && !r.approval_required) {
    return config_error(prefix + "approval", "secondary use always needs an approval (規程 第17条)");
  }
  if (k == ExportKind::media && !r.approval_required) {
    return config_error(prefix + "approval",
                        "export to media always needs an approval (規程 第13条); deny it with mode = \"denied\"");
  }
  return {};
}

Status validate(const ExportRules& r) {
  using std::chrono::days;
  using std::chrono::hours;
  for (ExportKind k : kAllExportKinds) {
    if (Status s = validate_kind(k, r.rules(k)); !s) return s;
  }
  if (r.delete_after <= std::chrono::seconds::zero() || r.delete_after > days(365)) {
    return config_error("delete_after", "must be more than 0 and at most 365 days");
  }
  if (r.approval_max_validity <= std::chrono::seconds::zero() || r.approval_max_validity > days(90)) {
    return config_error("approval_max_validity", "must be more than 0 and at most 90 days");
  }
  if (r.min_justification < 1 || r.min_justification > 4000) {
    return config_error("min_justification", "must be 1-4000 characters");
  }
  if (r.quota_day_offset < -hours(14) || r.quota_day_offset > hours(14)) {
    return config_error("quota_day_offset", "must be within -14:00 and +14:00");
  }
  if (r.watermark.empty() || r.watermark.size() > 512) {
    return config_error("watermark", "must be 1-512 bytes");
  }
  return {};
}

}  // namespace

std::string_view name(ExportKind k) noexcept {
  switch (k) {
    case ExportKind::media: return "media";
    case ExportKind::print: return "print";
    case ExportKind::secondary_use: return "secondary_use";
    case ExportKind::third_party: return "third_party";
  }
  return "unknown";
}

std::optional<ExportKind> parse_export_kind(std::string_view s) noexcept {
  for (ExportKind k : kAllExportKinds) {
    if (name(k) == s) return k;
  }
  return std::nullopt;
}

Function required_function(ExportKind k) noexcept {
  return k == ExportKind::print ? Function::print : Function::export_;
}

std::array<KindRules, 4> ExportRules::default_kind_rules() {
  std::array<KindRules, 4> k;
  k[static_cast<std::size_t>(ExportKind::media)] = {{"physician"}, 5, true, false};
  k[static_cast<std::size_t>(ExportKind::print)] = {{"physician", "nurse", "pharmacist", "clerk"}, 50, false, false};
  k[static_cast<std::size_t>(ExportKind::secondary_use)] = {{"physician", "researcher"}, 5, true, false};
  k[static_cast<std::size_t>(ExportKind::third_party)] = {{"physician", "clerk"}, 10, true, false};
  return k;
}

Result<ExportPolicy> ExportPolicy::create(ExportRules rules) {
  if (Status s = validate(rules); !s) return Error(s.error());
  auto wm = WatermarkTemplate::compile(rules.watermark);
  if (!wm) return config_error("watermark", wm.error().message);
  return ExportPolicy(std::move(rules), std::move(wm).value());
}

}  // namespace hiegate::policy
