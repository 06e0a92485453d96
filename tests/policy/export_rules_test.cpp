// [policy.export] validation and watermark templates.
#include <gtest/gtest.h>

#include "hiegate/policy/export_rules.hpp"

namespace hiegate::policy {
namespace {

std::string config_error(const ExportRules& r) {
  const auto p = ExportPolicy::create(r);
  if (p) return "";
  EXPECT_EQ(p.error().code, "config_invalid");
  return p.error().message;
}

TEST(ExportKinds, NamesRoundTripAndFunctions) {
  for (ExportKind k : kAllExportKinds) ASSERT_EQ(parse_export_kind(name(k)), k);
  EXPECT_FALSE(parse_export_kind("email"));
  EXPECT_EQ(required_function(ExportKind::print), Function::print);
  EXPECT_EQ(required_function(ExportKind::media), Function::export_);
  EXPECT_EQ(required_function(ExportKind::secondary_use), Function::export_);
  EXPECT_EQ(required_function(ExportKind::third_party), Function::export_);
}

TEST(ExportRulesConfig, DefaultsAreValidAndFailClosed) {
  const ExportRules r;
  EXPECT_EQ(config_error(r), "");
  EXPECT_EQ(r.media, MediaMode::approval);
  for (ExportKind k : kAllExportKinds) EXPECT_FALSE(r.rules(k).remote_documents) << name(k);
  EXPECT_FALSE(r.rules(ExportKind::print).approval_required);
  EXPECT_TRUE(r.rules(ExportKind::secondary_use).approval_required);
}

TEST(ExportRulesConfig, ErrorsNameTheKey) {
  ExportRules r;
  r.rules(ExportKind::print).daily_quota = 0;
  EXPECT_NE(config_error(r).find("policy.export.print.daily_quota"), std::string::npos);
  r = {};
  r.rules(ExportKind::secondary_use).approval_required = false;
  EXPECT_NE(config_error(r).find("policy.export.secondary_use.approval"), std::string::npos);
  r = {};
  r.rules(ExportKind::media).approval_required = false;  // 規程 第13条: denied, or with an approval
  EXPECT_NE(config_error(r).find("policy.export.media.approval"), std::string::npos);
  r = {};
  r.rules(ExportKind::media).roles = {"physician", "physician"};
  EXPECT_NE(config_error(r).find("policy.export.media.roles"), std::string::npos);
  r = {};
  r.delete_after = std::chrono::seconds(0);
  EXPECT_NE(config_error(r).find("policy.export.delete_after"), std::string::npos);
  r = {};
  r.min_justification = 0;
  EXPECT_NE(config_error(r).find("policy.export.min_justification"), std::string::npos);
  r = {};
  r.watermark = "{facility} {patient}";
  EXPECT_NE(config_error(r).find("policy.export.watermark: unknown placeholder {patient}"), std::string::npos);
}

TEST(Watermark, StrictPlaceholders) {
  for (const char* bad : {"{", "}", "{user", "user}", "{}", "{ user }", "{USER}", "{time}{x}", "a { b"}) {
    SCOPED_TRACE(bad);
    const auto t = WatermarkTemplate::compile(bad);
    ASSERT_FALSE(t);
    EXPECT_EQ(t.error().code, "config_invalid");
  }
}

TEST(Watermark, RendersFieldsAndEscapes) {
  const auto t = WatermarkTemplate::compile("{{x}} {facility}|{user}|{time}|{ticket}|{kind}|{delete_by} }}");
  ASSERT_TRUE(t);
  const WatermarkFields f{"1310000001", "1310000001/dr.sato", "2026-05-01T01:00:00Z", "T-1", "print",
                          "2026-05-04T01:00:00Z"};
  EXPECT_EQ(t->render(f),
            "{x} 1310000001|1310000001/dr.sato|2026-05-01T01:00:00Z|T-1|print|2026-05-04T01:00:00Z }");
}

TEST(Watermark, ControlCharactersCannotForgeLines) {
  const auto t = WatermarkTemplate::compile("[{user}]");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->render({.user = "a\nb\x7f"}), "[a\xEF\xBF\xBD" "b\xEF\xBF\xBD]");
}

}  // namespace
}  // namespace hiegate::policy
