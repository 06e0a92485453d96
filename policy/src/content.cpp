#include "hiegate/policy/content.hpp"

#include <array>
#include <nlohmann/json.hpp>

namespace hiegate::policy {

namespace {

bool starts(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

bool valid_utf8_no_nul(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == 0) return false;
    std::size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (std::size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    if (n == 2 && c < 0xC2) return false;  // overlong
    i += n;
  }
  return true;
}

// Executables and scripts, whatever the label.
bool looks_executable(std::string_view s) {
  static constexpr std::array<std::string_view, 6> magics = {
      "MZ", "\x7f" "ELF", "#!", "\xca\xfe\xba\xbe", "\xcf\xfa\xed\xfe", "PK\x03\x04"};
  for (auto m : magics) {
    if (starts(s, m)) return true;
  }
  std::string head(s.substr(0, 512));
  for (char& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return head.find("<script") != std::string::npos || head.find("<html") != std::string::npos ||
         head.find("<?php") != std::string::npos;
}

Decision bad(std::string_view type, std::string en) {
  return Decision::refuse("content." + std::string(type), "content_mismatch",
                          "文書の内容が指定された形式と一致しません", std::move(en));
}

}  // namespace

Decision check_content_head(std::string_view content_type, std::string_view head) {
  head = head.substr(0, kContentHeadBytes);
  const std::string_view type = content_type.substr(0, content_type.find(';'));
  if (type == "application/fhir+json" || type == "text/plain") {
    if (head.empty()) return check_content(type, head);
    if (looks_executable(head)) return check_content(type, head);
    const auto first = head.find_first_not_of(" \t\r\n");
    if (type == "application/fhir+json" && first != std::string_view::npos && head[first] != '{') {
      return bad(type, "application/fhir+json must be a JSON FHIR resource with a resourceType");
    }
    if (head.find('\0') != std::string_view::npos) return bad(type, "not UTF-8 text");
    return Decision::allow(type == "text/plain" ? "content.text" : "content.fhir_json");
  }
  if (type == "application/hl7-v2") {
    if (head.empty() || looks_executable(head)) return check_content(type, head);
    return starts(head, "MSH|") && head.find('\0') == std::string_view::npos ? Decision::allow("content.hl7v2")
                                                                               : bad(type, "not an HL7 v2 message");
  }
  // The other types are decided by their first bytes.
  return check_content(content_type, head);
}

bool content_checked_whole(std::string_view content_type) {
  const std::string_view type = content_type.substr(0, content_type.find(';'));
  return type == "application/fhir+json" || type == "application/hl7-v2" || type == "text/plain";
}

Decision check_content(std::string_view content_type, std::string_view content) {
  // Parameters such as "; charset=utf-8" are ignored for the check.
  const std::string_view type = content_type.substr(0, content_type.find(';'));
  if (content.empty()) {
    return Decision::refuse("content.empty", "content_empty", "文書の内容が空です", "The document is empty");
  }
  if (looks_executable(content)) {
    return Decision::refuse("content.executable", "content_forbidden",
                            "実行形式やスクリプトは登録できません",
                            "Executables and scripts may not be published");
  }
  if (type == "application/fhir+json") {
    const auto j = nlohmann::json::parse(content, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("resourceType") || !j["resourceType"].is_string()) {
      return bad(type, "application/fhir+json must be a JSON FHIR resource with a resourceType");
    }
    return Decision::allow("content.fhir_json");
  }
  if (type == "application/pdf") {
    return starts(content, "%PDF-") ? Decision::allow("content.pdf") : bad(type, "not a PDF file");
  }
  if (type == "application/hl7-v2") {
    return (starts(content, "MSH|") && valid_utf8_no_nul(content)) ? Decision::allow("content.hl7v2")
                                                                   : bad(type, "not an HL7 v2 message");
  }
  if (type == "image/jpeg") {
    return starts(content, "\xff\xd8\xff") ? Decision::allow("content.jpeg") : bad(type, "not a JPEG image");
  }
  if (type == "image/png") {
    return starts(content, "\x89PNG\r\n\x1a\n") ? Decision::allow("content.png") : bad(type, "not a PNG image");
  }
  if (type == "application/dicom") {
    return (content.size() > 132 && content.substr(128, 4) == "DICM") ? Decision::allow("content.dicom")
                                                                       : bad(type, "not a DICOM Part 10 file");
  }
  if (type == "text/plain") {
    return valid_utf8_no_nul(content) ? Decision::allow("content.text") : bad(type, "not UTF-8 text");
  }
  return check_content_type(type);
}

Decision check_content_type(std::string_view content_type) {
  static constexpr std::array<std::string_view, 7> allowed = {
      "application/fhir+json", "application/pdf", "application/hl7-v2", "image/jpeg",
      "image/png",             "application/dicom", "text/plain"};
  const std::string_view type = content_type.substr(0, content_type.find(';'));
  for (auto a : allowed) {
    if (a == type) return Decision::allow("content.allow_list");
  }
  return Decision::refuse("content.allow_list", "content_type_not_allowed",
                          "この形式の文書は登録できません", "This content type is not allowed");
}

}  // namespace hiegate::policy
