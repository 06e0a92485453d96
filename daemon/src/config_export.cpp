// `[policy.export]` (docs/exports.md) read into policy::ExportRules and
// validated once through policy::ExportPolicy::create, so a config the export
// routes would refuse at request time is refused at load time instead.
#include "config_export.hpp"

#include <string>

#include "hiegate/policy/export_rules.hpp"
#include "hiegate/policy/roles.hpp"

namespace hiegate::daemon::config_detail {
namespace {

std::string check_export_role(const std::string& v) {
  return policy::parse_role(v) ? ""
                               : "\"" + v +
                                     "\" is not a role (physician, nurse, pharmacist, technician, "
                                     "clerk, approver, admin)";
}

/// "+09:00", "-03:30", "+00:00" → minutes east of UTC.
bool parse_offset(const std::string& s, std::chrono::minutes& out) {
  if (s.size() != 6 || (s[0] != '+' && s[0] != '-') || s[3] != ':') return false;
  for (std::size_t i : {1U, 2U, 4U, 5U}) {
    if (s[i] < '0' || s[i] > '9') return false;
  }
  const int h = (s[1] - '0') * 10 + (s[2] - '0');
  const int m = (s[4] - '0') * 10 + (s[5] - '0');
  if (h > 14 || m > 59 || (h == 14 && m != 0)) return false;
  out = std::chrono::minutes((s[0] == '-' ? -1 : 1) * (h * 60 + m));
  return true;
}

void read_media_mode(Section& s, std::string_view key, policy::MediaMode& out) {
  std::string media = out == policy::MediaMode::denied ? "denied" : "approval";
  s.string(key, media, false, [](const std::string& v) -> std::string {
    return (v == "denied" || v == "approval") ? "" : "must be \"denied\" or \"approval\"";
  });
  out = media == "denied" ? policy::MediaMode::denied : policy::MediaMode::approval;
}

void read_kind(Section& s, policy::KindRules& k) {
  s.string_list("roles", k.roles, check_export_role);
  s.uint_as("daily_quota", k.daily_quota, 1, 100000);
  s.boolean("approval", k.approval_required);
  s.boolean("remote_documents", k.remote_documents);
  s.finish();
}

template <class D>
void read_seconds(Section& s, std::string_view key, D& out, Millis max) {
  Millis v = std::chrono::duration_cast<Millis>(out);
  s.duration(key, v, Millis(1000), max);
  out = std::chrono::duration_cast<D>(v);
}

}  // namespace

void read_export_rules(Section& policy_section, policy::ExportRules& out) {
  Section s(policy_section.node("export"), policy_section.key_path("export"), policy_section.diag());
  s.string("watermark", out.watermark, false, [](const std::string& v) -> std::string {
    auto t = policy::WatermarkTemplate::compile(v);
    if (!t) return t.error().message;
    return (v.empty() || v.size() > 512) ? "must be 1-512 bytes" : "";
  });
  read_seconds(s, "delete_after", out.delete_after, Millis(365LL * 86'400'000));
  read_seconds(s, "approval_max_validity", out.approval_max_validity, Millis(90LL * 86'400'000));
  s.uint_as("min_justification", out.min_justification, 1, 4000);
  std::string offset;
  s.string("quota_day_offset", offset, false, [&out](const std::string& v) -> std::string {
    return parse_offset(v, out.quota_day_offset) ? "" : "must be an offset +HH:MM within -14:00 and +14:00";
  });
  // TOML cannot hold both `media = "denied"` and a [policy.export.media]
  // table: the mode is either the string `media` or the table's `mode`.
  if (const toml::node* m = s.node("media"); m != nullptr && m->is_string()) {
    read_media_mode(s, "media", out.media);
  } else if (m != nullptr) {
    Section ms(m, s.key_path("media"), s.diag());
    read_media_mode(ms, "mode", out.media);
    read_kind(ms, out.rules(policy::ExportKind::media));
  }
  for (policy::ExportKind k : policy::kAllExportKinds) {
    if (k == policy::ExportKind::media) continue;
    const std::string key(policy::name(k));
    Section ks(s.node(key), s.key_path(key), s.diag());
    read_kind(ks, out.rules(k));
  }
  s.finish();
  // Whatever the per-key checks let through is checked as a whole (e.g.
  // secondary_use.approval = false) with the same rules the routes apply.
  if (s.diag().any()) return;  // the load fails anyway; one message per problem
  if (auto p = policy::ExportPolicy::create(out); !p) s.diag().add(s.table(), "", p.error().message);
}

}  // namespace hiegate::daemon::config_detail
