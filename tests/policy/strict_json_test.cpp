#include "hiegate/policy/strict_json.hpp"

#include <gtest/gtest.h>

#include <string>

#include "hiegate/policy/rfc3339.hpp"

namespace hiegate::policy {
namespace {

void expect_refused(std::string_view text) {
  auto r = parse_strict_json(text);
  ASSERT_FALSE(r.ok()) << "accepted: " << text;
  EXPECT_EQ(r.error().code, "malformed");
  EXPECT_FALSE(r.error().message.empty());
}

TEST(StrictJson, AcceptsPlainDocuments) {
  auto r = parse_strict_json(
      R"( {"a": [1, -2, 3.5, "x", true, null, {"b": {}}], "c": "\u00e9\ud83d\ude00"} )");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE((*r)["a"][0].is_number_unsigned());
  EXPECT_TRUE((*r)["a"][1].is_number_integer());
  EXPECT_TRUE((*r)["a"][2].is_number_float());
  EXPECT_EQ((*r)["c"].get<std::string>(), "\xc3\xa9\xf0\x9f\x98\x80");
  EXPECT_TRUE(parse_strict_json("\"定期保守\"").ok());
}

TEST(StrictJson, RefusesDuplicateMembersAtAnyDepth) {
  expect_refused(R"({"a":1,"a":1})");
  expect_refused(R"({"x":{"a":1,"b":2,"a":3}})");
  expect_refused(R"([{"k":1},{"k":2,"k":2}])");
  // Same name in sibling objects is fine.
  EXPECT_TRUE(parse_strict_json(R"([{"k":1},{"k":2}])").ok());
  // Escapes are decoded before comparing.
  expect_refused(R"({"a":1,"\u0061":2})");
}

TEST(StrictJson, RefusesInvalidUtf8) {
  expect_refused("\"\xff\"");              // never valid
  expect_refused("\"\xc0\xaf\"");          // overlong '/'
  expect_refused("\"\xe0\x80\xaf\"");      // overlong, three bytes
  expect_refused("\"\xed\xa0\x80\"");      // encoded surrogate U+D800
  expect_refused("\"\xf4\x90\x80\x80\"");  // above U+10FFFF
  expect_refused("\"\xe5\xae\"");          // truncated sequence
  expect_refused("{\"a\xff\":1}");         // in a member name
  expect_refused("\xe3\x80\x80{}");        // outside strings
}

TEST(StrictJson, RefusesUnpairedSurrogateEscapes) {
  expect_refused(R"("\ud800")");
  expect_refused(R"("\udc00")");
  expect_refused(R"("\ud800\u0041")");
}

TEST(StrictJson, RefusesTrailingBytesBomAndComments) {
  expect_refused(R"({"a":1} x)");
  expect_refused(R"({"a":1}{})");
  expect_refused(std::string_view("{\"a\":1}\0", 8));
  expect_refused(std::string_view("{\"a\":1}\0garbage", 15));  // NUL must not end the input
  expect_refused("\xef\xbb\xbf{}");
  expect_refused("{} // c");
  expect_refused("/* c */ {}");
  expect_refused("");
  expect_refused("   ");
  EXPECT_TRUE(parse_strict_json("{}\n").ok());  // trailing whitespace is JSON
}

TEST(StrictJson, RefusesNonJsonLiterals) {
  expect_refused("NaN");
  expect_refused("01");
  expect_refused("[1,]");
  expect_refused("{'a':1}");
  expect_refused("\"a\tb\"");  // raw control character in a string
}

TEST(StrictJson, LimitsDepth) {
  std::string deep(40, '[');
  deep += std::string(40, ']');
  expect_refused(deep);
  EXPECT_TRUE(parse_strict_json(deep, 64).ok());
}

TEST(Rfc3339, ParsesOnlyTheStrictForm) {
  const auto t = parse_rfc3339("2026-11-21T09:00:00Z");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->time_since_epoch().count(), 1795251600);
  EXPECT_EQ(format_rfc3339(*t), "2026-11-21T09:00:00Z");
  EXPECT_TRUE(parse_rfc3339("2028-02-29T23:59:59Z").has_value());
  for (std::string_view bad :
       {"2026-11-21T18:00:00+09:00", "2026-11-21T09:00:00.5Z", "2026-11-21t09:00:00z",
        "2026-11-21 09:00:00Z", "2026-02-29T00:00:00Z", "2026-11-31T00:00:00Z",
        "2026-13-01T00:00:00Z", "2026-11-21T24:00:00Z", "2026-11-21T23:60:00Z",
        "2026-11-21T23:59:60Z", "0000-01-01T00:00:00Z", "2026-1-21T09:00:00Z", "",
        "2026-11-21T09:00:00", "+026-11-21T09:00:00Z"}) {
    EXPECT_FALSE(parse_rfc3339(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace hiegate::policy
