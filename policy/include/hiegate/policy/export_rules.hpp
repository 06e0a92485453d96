// Rules for copying patient data out of the network: the `[policy.export]`
// config section as plain values, validated once into an immutable
// ExportPolicy snapshot (規程 第13・14・17・19条, 利用規程 第7条2号).
//
// Pure values: no I/O, thread-safe to share once built.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hiegate/common/result.hpp"
#include "hiegate/policy/functions.hpp"
#include "hiegate/policy/watermark.hpp"

namespace hiegate::policy {

enum class ExportKind : std::uint8_t { media, print, secondary_use, third_party };

inline constexpr std::array<ExportKind, 4> kAllExportKinds = {
    ExportKind::media, ExportKind::print, ExportKind::secondary_use, ExportKind::third_party};

/// "media", "print", "secondary_use", "third_party".
[[nodiscard]] std::string_view name(ExportKind k) noexcept;
[[nodiscard]] std::optional<ExportKind> parse_export_kind(std::string_view s) noexcept;
/// The operating-mode function a kind needs: print → Function::print, every
/// other kind → Function::export_.
[[nodiscard]] Function required_function(ExportKind k) noexcept;

/// The role that may grant approvals (規程 第13条: the department head's permission).
inline constexpr std::string_view kApproverRole = "approver";

/// `[policy.export.<kind>]`.
struct KindRules {
  std::vector<std::string> roles;   ///< roles allowed to request this kind; empty = nobody
  std::uint32_t daily_quota = 0;    ///< allowed exports per user per quota day, >= 1
  bool approval_required = true;    ///< `approval`; forced true for secondary_use
  bool remote_documents = false;    ///< documents obtained from other facilities
};

/// `media = "denied" | "approval"`.
enum class MediaMode : std::uint8_t { denied, approval };

/// `[policy.export]`. Defaults are the fail-closed reading of the rules.
struct ExportRules {
  MediaMode media = MediaMode::approval;
  /// Indexed by ExportKind; see default_kind_rules().
  std::array<KindRules, 4> kinds = default_kind_rules();
  /// `watermark`: placeholders {facility} {user} {time} {ticket} {kind}
  /// {delete_by}; `{{` and `}}` are literal braces.
  std::string watermark = "{facility} {user} {time} {ticket}";
  /// `delete_after`: every export must be deleted this long after it is made.
  std::chrono::seconds delete_after = std::chrono::hours(72);
  /// `approval_max_validity`: the longest valid_until - now an approver may grant.
  std::chrono::seconds approval_max_validity = std::chrono::days(7);
  /// `min_justification`: code points of a legal-basis justification.
  std::size_t min_justification = 20;
  /// `quota_day_offset`: quota days start at local midnight, UTC + offset (JST).
  std::chrono::minutes quota_day_offset = std::chrono::hours(9);

  [[nodiscard]] const KindRules& rules(ExportKind k) const { return kinds[static_cast<std::size_t>(k)]; }
  [[nodiscard]] KindRules& rules(ExportKind k) { return kinds[static_cast<std::size_t>(k)]; }

  static std::array<KindRules, 4> default_kind_rules();
};

/// A validated ExportRules with its compiled watermark. Immutable.
class ExportPolicy {
public:
  /// Errors: code `config_invalid`, message naming the key
  /// (`policy.export.watermark: unknown placeholder {patient}`).
  [[nodiscard]] static Result<ExportPolicy> create(ExportRules rules);

  [[nodiscard]] const ExportRules& rules() const { return rules_; }
  [[nodiscard]] const WatermarkTemplate& watermark() const { return watermark_; }

private:
  ExportPolicy(ExportRules r, WatermarkTemplate w) : rules_(std::move(r)), watermark_(std::move(w)) {}
  ExportRules rules_;
  WatermarkTemplate watermark_;
};

}  // namespace hiegate::policy
