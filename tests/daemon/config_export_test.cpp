// `[policy.export]` in the daemon config: defaults, every key, and errors
// reported with their key paths.
#include <gtest/gtest.h>

#include "hiegate/daemon/config.hpp"

namespace hiegate::daemon {
namespace {

using policy::ExportKind;

constexpr std::string_view kBase = R"([network]
id = "nishitama"
facility = "1312345678"
)";

ConfigLoad load(std::string_view extra) { return parse_config(std::string(kBase) + std::string(extra), "t.toml"); }

TEST(ConfigExport, DefaultsAreTheFailClosedRules) {
  const auto r = load("");
  ASSERT_TRUE(r.ok()) << r.report();
  const auto& e = r.config->policy.export_rules;
  EXPECT_EQ(e.media, policy::MediaMode::approval);
  EXPECT_EQ(e.delete_after, std::chrono::hours(72));
  EXPECT_EQ(e.rules(ExportKind::print).daily_quota, 50U);
  EXPECT_TRUE(e.rules(ExportKind::secondary_use).approval_required);
}

TEST(ConfigExport, EveryKeyIsRead) {
  const auto r = load(R"(
[policy.export]
media = "denied"
watermark = "{facility} {user} {{copy}} {ticket}"
delete_after = "1s"
approval_max_validity = "2d"
min_justification = 30
quota_day_offset = "-03:30"
[policy.export.print]
roles = ["nurse"]
daily_quota = 2
approval = true
remote_documents = true
[policy.export.third_party]
roles = []
)");
  ASSERT_TRUE(r.ok()) << r.report();
  const auto& e = r.config->policy.export_rules;
  EXPECT_EQ(e.media, policy::MediaMode::denied);
  EXPECT_EQ(e.watermark, "{facility} {user} {{copy}} {ticket}");
  EXPECT_EQ(e.delete_after, std::chrono::seconds(1));
  EXPECT_EQ(e.approval_max_validity, std::chrono::days(2));
  EXPECT_EQ(e.min_justification, 30U);
  EXPECT_EQ(e.quota_day_offset, std::chrono::minutes(-210));
  const auto& p = e.rules(ExportKind::print);
  EXPECT_EQ(p.roles, std::vector<std::string>{"nurse"});
  EXPECT_EQ(p.daily_quota, 2U);
  EXPECT_TRUE(p.approval_required);
  EXPECT_TRUE(p.remote_documents);
  EXPECT_TRUE(e.rules(ExportKind::third_party).roles.empty());
  // Kinds left out keep their defaults.
  EXPECT_EQ(e.rules(ExportKind::media).daily_quota, 5U);
}

TEST(ConfigExport, MediaModeInsideTheMediaTable) {
  const auto r = load("[policy.export.media]\nmode = \"denied\"\ndaily_quota = 3\n");
  ASSERT_TRUE(r.ok()) << r.report();
  EXPECT_EQ(r.config->policy.export_rules.media, policy::MediaMode::denied);
  EXPECT_EQ(r.config->policy.export_rules.rules(ExportKind::media).daily_quota, 3U);
  EXPECT_FALSE(load("[policy.export.media]\nmode = \"maybe\"\n").ok());
}

TEST(ConfigExport, BadValuesNameTheirKey) {
  struct Case {
    const char* toml;
    const char* expect;
  };
  const Case cases[] = {
      {"[policy.export]\nmedia = \"sometimes\"\n", "policy.export.media"},
      {"[policy.export]\nwatermark = \"{patient}\"\n", "policy.export.watermark"},
      {"[policy.export]\nwatermark = \"open {\"\n", "policy.export.watermark"},
      {"[policy.export]\ndelete_after = \"0s\"\n", "policy.export.delete_after"},
      {"[policy.export]\napproval_max_validity = \"91d\"\n", "policy.export.approval_max_validity"},
      {"[policy.export]\nmin_justification = 0\n", "policy.export.min_justification"},
      {"[policy.export]\nquota_day_offset = \"9:00\"\n", "policy.export.quota_day_offset"},
      {"[policy.export]\nquota_day_offset = \"+15:00\"\n", "policy.export.quota_day_offset"},
      {"[policy.export]\ncolour = \"red\"\n", "policy.export.colour: unknown key"},
      {"[policy.export.print]\ndaily_quota = 0\n", "policy.export.print.daily_quota"},
      {"[policy.export.print]\nroles = [\"doctor\"]\n", "policy.export.print.roles[0]"},
      {"[policy.export.print]\ncopies = 2\n", "policy.export.print.copies: unknown key"},
      {"[policy.export.fax]\nroles = []\n", "policy.export.fax: unknown key"},
      {"[policy.export.secondary_use]\napproval = false\n", "policy.export.secondary_use.approval"},
      {"[policy.export.media]\nmode = \"approval\"\napproval = false\n", "policy.export.media.approval"},
  };
  for (const auto& c : cases) {
    const auto r = load(c.toml);
    EXPECT_FALSE(r.ok()) << c.toml;
    EXPECT_NE(r.report().find(c.expect), std::string::npos) << c.toml << "\n" << r.report();
  }
}

}  // namespace
}  // namespace hiegate::daemon
