#include "hiegate/policy/content.hpp"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace hiegate::policy
