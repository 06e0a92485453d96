#include "hiegate/policy/content.hpp"

#include <gtest/gtest.h>

#include <tuple>

#include <algorithm>

namespace hiegate::policy {
namespace {

// 128-byte preamble, "DICM", then data. Built in place: GCC 12 reports a
// false -Warray-bounds on the concatenation of temporaries here.
std::string dicom() {
  std::string s(148, 'x');
  std::fill_n(s.begin(), 128, '\0');
  std::copy_n("DICM", 4, s.begin() + 128);
  return s;
}

TEST(Content, AllowListCheckedAgainstMagicBytes) {
  struct Row {
    const char* type;
    std::string body;
    const char* code;
  };
  const std::vector<Row> table = {
      {"application/fhir+json", R"({"resourceType":"Bundle"})", ""},
      {"application/fhir+json; charset=utf-8", R"({"resourceType":"Patient"})", ""},
      {"application/fhir+json", R"({"name":"x"})", "content_mismatch"},
      {"application/fhir+json", "not json", "content_mismatch"},
      {"application/pdf", "%PDF-1.7\n...", ""},
      {"application/pdf", "MZ\x90\x00", "content_forbidden"},
      {"application/pdf", "hello", "content_mismatch"},
      {"application/hl7-v2", "MSH|^~\\&|EHR|...", ""},
      {"application/hl7-v2", "PID|1", "content_mismatch"},
      {"image/jpeg", "\xff\xd8\xff\xe0JFIF", ""},
      {"image/png", "\x89PNG\r\n\x1a\nIHDR", ""},
      {"image/png", "\xff\xd8\xff", "content_mismatch"},
      {"application/dicom", dicom(), ""},
      {"application/dicom", "DICM", "content_mismatch"},
      {"text/plain", "退院時サマリー", ""},
      {"text/plain", "#!/bin/sh\nrm -rf /", "content_forbidden"},
      {"text/plain", "<script>alert(1)</script>", "content_forbidden"},
      {"text/plain", std::string("a\0b", 3), "content_mismatch"},
      {"text/plain", "\xc0\xaf", "content_mismatch"},
      {"application/x-msdownload", "MZ", "content_forbidden"},
      {"application/zip", "PK\x03\x04", "content_forbidden"},
      {"application/octet-stream", "data", "content_type_not_allowed"},
      {"text/html", "hello", "content_type_not_allowed"},
      {"text/plain", "", "content_empty"},
  };
  for (const auto& r : table) {
    const Decision d = check_content(r.type, r.body);
    EXPECT_EQ(d.code, r.code) << r.type << " / " << r.body.substr(0, 16);
    EXPECT_FALSE(d.rule.empty());
  }
}

// The first bytes decide the same for every type but what needs the whole
// content: a FHIR resource's parse, text's UTF-8.
TEST(Content, TheHeadDecidesWhatTheFirstBytesCan) {
  const std::string long_pdf = "%PDF-1.7\n" + std::string(100'000, 'x');
  for (const auto& [type, body] : std::vector<std::pair<std::string, std::string>>{
           {"application/pdf", long_pdf},
           {"application/pdf", "hello"},
           {"application/pdf", "MZ\x90"},
           {"image/png", "\x89PNG\r\n\x1a\nIHDR"},
           {"image/jpeg", "\x89PNG\r\n\x1a\n"},
           {"application/dicom", dicom()},
           {"application/dicom", "DICM"},
           {"application/hl7-v2", "MSH|^~\\&|EHR|..."},
           {"application/hl7-v2", "PID|1"},
           {"application/octet-stream", "data"},
           {"text/plain", ""},
           {"text/plain", "<html><script>"},
           {"text/plain", std::string("a\0b", 3)},
           {"application/fhir+json", "#!/bin/sh"},
           {"application/fhir+json", "  [1, 2]"}}) {
    EXPECT_EQ(check_content_head(type, body.substr(0, kContentHeadBytes)).code, check_content(type, body).code)
        << type << " / " << body.substr(0, 16);
  }
  // Cut at the head: a resource or text that goes on is judged by its start.
  const std::string fhir = R"({"resourceType":"Bundle","entry":[)" + std::string(1000, ' ');
  EXPECT_TRUE(check_content_head("application/fhir+json", fhir.substr(0, kContentHeadBytes)).allowed);
  EXPECT_EQ(check_content_head("application/fhir+json", "not json").code, "content_mismatch");
  EXPECT_TRUE(check_content_head("text/plain", std::string(kContentHeadBytes, 'a')).allowed);
}

// What a raw upload decides before its body: the type alone, and whether its
// check needs the whole content.
TEST(Content, TheTypeAloneDecidesTheAllowListAndWhatIsCheckedWhole) {
  for (const auto& [type, allowed, whole] : std::vector<std::tuple<std::string, bool, bool>>{
           {"application/fhir+json", true, true},
           {"application/fhir+json; charset=utf-8", true, true},
           {"text/plain", true, true},
           {"application/hl7-v2", true, true},
           {"application/pdf", true, false},
           {"image/jpeg", true, false},
           {"image/png", true, false},
           {"application/dicom", true, false},
           {"application/zip", false, false},
           {"text/html", false, false},
           {"", false, false},
           {"application/pdfx", false, false}}) {
    const auto d = check_content_type(type);
    EXPECT_EQ(d.allowed, allowed) << type;
    EXPECT_EQ(d.code, allowed ? "" : "content_type_not_allowed") << type;
    EXPECT_EQ(content_checked_whole(type), whole) << type;
    // The same verdict as the whole check gives a type off the list.
    if (!allowed) {
      EXPECT_EQ(check_content(type, "data").code, "content_type_not_allowed") << type;
    }
  }
}

}  // namespace
}  // namespace hiegate::policy
