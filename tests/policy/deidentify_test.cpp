// The de-identifier on a realistic bundle (Japanese names in kanji and kana,
// Encounter, Observation, MedicationRequest, DocumentReference with an
// attachment) and its refusals of opaque content.
#include "hiegate/policy/deidentify.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "support/temp_dir.hpp"

namespace hiegate::policy {
namespace {

using nlohmann::json;
using namespace std::chrono;

const crypto::Bytes kKeyA(32, 0xA1);
const crypto::Bytes kKeyB(32, 0xB2);
constexpr days kShift{-400};

std::string bundle_text() { return test::read_file(std::string(HIEGATE_TEST_DATA_DIR) + "/policy/data/deid_bundle.json"); }

json deid(const std::string& text, const crypto::Bytes& key = kKeyA, days shift = kShift) {
  const auto out = deidentify("application/fhir+json; fhirVersion=4.0", text, {key, shift});
  EXPECT_TRUE(out) << out.error().code << ": " << out.error().message;
  return out ? json::parse(out.value()) : json();
}

// Every string leaf under the identifying fields of the input, whatever the
// de-identifier's own lists say.
void collect_identifying(const json& j, bool inside, std::set<std::string>& out) {
  static const std::set<std::string> identifying = {"name", "identifier", "masterIdentifier", "telecom", "address",
                                                    "photo", "contact", "extension", "text", "display", "note",
                                                    "description", "title", "data", "url", "hash"};
  static const std::set<std::string> codes = {"system", "use", "country", "code", "status", "contentType"};
  if (j.is_string() && inside) {
    out.insert(j.get<std::string>());
  } else if (j.is_array()) {
    for (const json& e : j) collect_identifying(e, inside, out);
  } else if (j.is_object()) {
    const bool coding = j.contains("code") && j.contains("system");
    for (const auto& [k, v] : j.items()) {
      if (codes.count(k) || (inside && k == "url" && v.get<std::string>().starts_with("http://hl7.org/"))) continue;
      if (k == "display" && coding) continue;  // terminology display ("Body weight"), not identifying
      if (k == "text" && !j.contains("resourceType") && !j.contains("div") && !inside) continue;  // CodeableConcept.text
      collect_identifying(v, inside || identifying.count(k) > 0, out);
    }
  }
}

// Every YYYY-MM-DD occurring anywhere in the input.
std::set<std::string> full_dates(const std::string& text) {
  std::set<std::string> out;
  for (std::size_t i = 0; i + 10 <= text.size(); ++i) {
    int y, m, d;
    char tail;
    if (std::sscanf(text.c_str() + i, "%4d-%2d-%2d%c", &y, &m, &d, &tail) == 4 && text[i + 4] == '-' &&
        std::isdigit(static_cast<unsigned char>(text[i])) && std::isdigit(static_cast<unsigned char>(text[i + 9]))) {
      out.insert(text.substr(i, 10));
    }
  }
  return out;
}

std::string shifted(const char* date) {
  int y, m, d;
  std::sscanf(date, "%d-%d-%d", &y, &m, &d);
  const year_month_day out{sys_days{year{y} / m / d} + kShift};
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(out.year()), static_cast<unsigned>(out.month()),
                static_cast<unsigned>(out.day()));
  return buf;
}

const json& entry(const json& bundle, std::size_t i) { return bundle.at("entry").at(i).at("resource"); }

TEST(Deidentify, NoIdentifierNameTelecomAddressOrFullDateSurvives) {
  const std::string input = bundle_text();
  std::set<std::string> secrets;
  collect_identifying(json::parse(input), false, secrets);
  ASSERT_GT(secrets.size(), 30U);
  for (const char* s : {"山田", "太郎", "ヤマダ", "タロウ", "0012345", "0428-22-3191", "198-0042", "鈴木花子",
                        "佐藤 一郎", "taro.yamada@example.jp", "北海道札幌市中央区北一条西二丁目"}) {
    ASSERT_TRUE(secrets.count(s)) << "fixture collector missed " << s;
  }
  const std::set<std::string> dates = full_dates(input);
  ASSERT_TRUE(dates.count("1948-05-03"));
  ASSERT_TRUE(dates.count("2024-04-01"));

  const std::string output = deid(input).dump();
  for (const std::string& s : secrets) EXPECT_EQ(output.find(s), std::string::npos) << "survived: " << s;
  for (const std::string& d : dates) EXPECT_EQ(output.find(d), std::string::npos) << "date survived: " << d;
  for (const char* s : {"pt-0012345", "pr-77", "enc-2024-0401", "obs-bw-1", "mr-5", "doc-31", "ome-hospital",
                        "JVBERi0", "/9j/4AAQ", "青梅中央病院"}) {
    EXPECT_EQ(output.find(s), std::string::npos) << "survived: " << s;
  }
}

TEST(Deidentify, KeepsClinicalContent) {
  const json out = deid(bundle_text());
  const json& patient = entry(out, 0);
  EXPECT_EQ(patient.at("birthDate"), "1948");
  EXPECT_EQ(patient.at("gender"), "male");
  for (const char* gone : {"name", "identifier", "telecom", "address", "photo", "contact", "text", "extension"}) {
    EXPECT_FALSE(patient.contains(gone)) << gone;
  }
  EXPECT_EQ(patient.at("meta").at("security").at(0).at("code"), "PSEUDED");
  const json& obs = entry(out, 3);
  EXPECT_EQ(obs.at("code").at("coding").at(0).at("display"), "Body weight");
  EXPECT_EQ(obs.at("valueQuantity").at("value"), 61.4);
  EXPECT_FALSE(obs.contains("note"));
  EXPECT_FALSE(obs.at("performer").at(0).contains("display"));
  const json& med = entry(out, 4);
  EXPECT_EQ(med.at("medicationCodeableConcept").at("coding").at(0).at("code"), "103835401");
  const json& attachment = entry(out, 5).at("content").at(0).at("attachment");
  EXPECT_EQ(attachment.at("contentType"), "application/pdf");
  for (const char* gone : {"data", "url", "title", "hash"}) EXPECT_FALSE(attachment.contains(gone)) << gone;
}

TEST(Deidentify, DatesShiftedConsistentlyAcrossTheBundle) {
  const json out = deid(bundle_text());
  const json& enc = entry(out, 2);
  EXPECT_EQ(enc.at("period").at("start"), shifted("2024-03-28") + "T09:30:00+09:00");
  EXPECT_EQ(enc.at("period").at("end"), shifted("2024-04-01") + "T11:00:00+09:00");
  EXPECT_EQ(entry(out, 3).at("effectiveDateTime"), shifted("2024-03-29") + "T07:00:00+09:00");
  EXPECT_EQ(entry(out, 3).at("issued"), shifted("2024-03-29") + "T07:05:12.120+09:00");
  EXPECT_EQ(entry(out, 4).at("authoredOn"), shifted("2024-04-01"));
  const json& bounds = entry(out, 4).at("dosageInstruction").at(0).at("timing").at("repeat").at("boundsPeriod");
  EXPECT_EQ(bounds.at("end"), shifted("2024-04-14"));
  EXPECT_EQ(entry(out, 5).at("content").at(0).at("attachment").at("creation"), shifted("2024-04-01") + "T15:00:00+09:00");
  EXPECT_EQ(out.at("timestamp"), shifted("2024-04-02") + "T10:15:00+09:00");
}

TEST(Deidentify, ReferencesFollowTheRekeyedIds) {
  const json out = deid(bundle_text());
  const std::string patient = "Patient/" + entry(out, 0).at("id").get<std::string>();
  const std::string practitioner = "Practitioner/" + entry(out, 1).at("id").get<std::string>();
  const std::string encounter = "Encounter/" + entry(out, 2).at("id").get<std::string>();
  EXPECT_EQ(entry(out, 0).at("id").get<std::string>().size(), 32U);
  EXPECT_EQ(out.at("entry").at(0).at("fullUrl"), "https://deidentified.invalid/fhir/" + patient);
  EXPECT_EQ(entry(out, 0).at("generalPractitioner").at(0).at("reference"), practitioner);
  EXPECT_EQ(entry(out, 2).at("subject").at("reference"), patient);
  for (std::size_t i : {3U, 4U, 5U}) EXPECT_EQ(entry(out, i).at("subject").at("reference"), patient);
  EXPECT_EQ(entry(out, 3).at("encounter").at("reference"), encounter);
  EXPECT_EQ(entry(out, 4).at("requester").at("reference"), practitioner);
  EXPECT_EQ(entry(out, 5).at("context").at("encounter").at(0).at("reference"), encounter);
}

TEST(Deidentify, PseudonymsStableWithinAnExportDifferentAcross) {
  const std::string input = bundle_text();
  const json a1 = deid(input, kKeyA), a2 = deid(input, kKeyA), b = deid(input, kKeyB);
  EXPECT_EQ(a1, a2);
  for (std::size_t i = 0; i < 6; ++i) EXPECT_NE(entry(a1, i).at("id"), entry(b, i).at("id")) << i;
  EXPECT_NE(entry(a1, 2).at("subject"), entry(b, 2).at("subject"));
  EXPECT_EQ(entry(a1, 2).at("period"), entry(b, 2).at("period"));  // same shift, other key
  EXPECT_NE(entry(a1, 2).at("period"), entry(deid(input, kKeyA, days{90}), 2).at("period"));
}

TEST(Deidentify, ContainedAndUuidReferences) {
  const json in = {
      {"resourceType", "Bundle"},
      {"type", "transaction"},
      {"entry",
       {{{"fullUrl", "urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a"},
         {"resource", {{"resourceType", "Patient"}, {"name", {{{"family", "田中"}}}}}},
         {"request", {{"method", "POST"}, {"url", "Patient?identifier=0012345"}}}},
        {{"fullUrl", "urn:uuid:88f151c0-a954-468a-88cd-9e8a7b6a3c1e"},
         {"resource",
          {{"resourceType", "Observation"},
           {"contained", {{{"resourceType", "Practitioner"}, {"id", "p1"}, {"name", {{{"family", "伊藤"}}}}}}},
           {"performer", {{{"reference", "#p1"}}}},
           {"subject", {{"reference", "urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a"}}},
           {"focus", {{{"reference", "Patient?identifier=0012345"}}}}}}}}}};
  const json out = deid(in.dump());
  const json& obs = entry(out, 1);
  EXPECT_EQ(obs.at("subject").at("reference"), out.at("entry").at(0).at("fullUrl"));
  EXPECT_TRUE(obs.at("subject").at("reference").get<std::string>().starts_with("urn:uuid:"));
  EXPECT_EQ(obs.at("performer").at(0).at("reference"), "#" + obs.at("contained").at(0).at("id").get<std::string>());
  EXPECT_FALSE(obs.at("focus").at(0).contains("reference"));  // conditional reference dropped
  EXPECT_FALSE(out.at("entry").at(0).contains("request"));
  const std::string text = out.dump();
  for (const char* s : {"田中", "伊藤", "0012345", "61ebe359", "p1\""}) EXPECT_EQ(text.find(s), std::string::npos) << s;
}

TEST(Deidentify, IdentifyingValuesCopiedIntoOtherFieldsAreRedacted) {
  const json in = {{"resourceType", "Observation"},
                   {"subject", {{"reference", "Patient/1"}, {"display", "高橋 次郎"}}},
                   {"valueString", "高橋 次郎 様 自己申告"},
                   {"component", {{{"valueString", "家族歴なし"}}}}};
  const json out = deid(in.dump());
  EXPECT_EQ(out.at("valueString"), "[redacted]");
  EXPECT_EQ(out.at("component").at(0).at("valueString"), "家族歴なし");
}

struct Refusal {
  const char* what;
  std::string content_type;
  std::string body;
};

TEST(Deidentify, RefusesWhatItCannotAnonymize) {
  std::string dicom(128, '\0');
  dicom += "DICM\x02\x00\x00\x00";
  const std::string deep = std::string(100, '[') + std::string(100, ']');
  const std::string deep_resource = R"({"resourceType":"Basic","code":)" + std::string(80, '[') + std::string(80, ']') + "}";
  const Refusal cases[] = {
      {"PDF", "application/pdf", "%PDF-1.7\n%\xE2\xE3\xCF\xD3\n1 0 obj"},
      {"PDF labelled as FHIR", "application/fhir+json", "%PDF-1.4\n"},
      {"DICOM", "application/dicom", dicom},
      {"DICOM labelled as JSON", "application/json", dicom},
      {"PNG", "image/png", "\x89PNG\r\n\x1a\n"},
      {"JPEG", "image/jpeg", "\xFF\xD8\xFF\xE0"},
      {"HL7 v2", "x-application/hl7-v2+er7", "MSH|^~\\&|HIS|OME|||20240401||ADT^A01|1|P|2.5\rPID|||0012345"},
      {"HL7 v2 labelled as JSON", "application/json", "MSH|^~\\&|HIS|OME"},
      {"plain text", "text/plain", "山田太郎 1948-05-03"},
      {"XML FHIR", "application/fhir+xml", "<Patient xmlns=\"http://hl7.org/fhir\"/>"},
      {"invalid JSON", "application/fhir+json", "{\"resourceType\": \"Patient\","},
      {"invalid UTF-8", "application/fhir+json", "{\"resourceType\":\"Patient\",\"gender\":\"\xC3\x28\"}"},
      {"JSON array", "application/fhir+json", "[{\"resourceType\":\"Patient\"}]"},
      {"no resourceType", "application/json", "{\"name\":[{\"family\":\"山田\"}]}"},
      {"bad resourceType", "application/json", "{\"resourceType\":\"patient\"}"},
      {"non-FHIR member name", "application/json", "{\"resourceType\":\"Patient\",\"山田太郎\":1}"},
      {"modifierExtension", "application/fhir+json",
       R"({"resourceType":"Observation","modifierExtension":[{"url":"x","valueBoolean":true}]})"},
      {"too deep", "application/json", deep},
      {"too deep in a resource", "application/json", deep_resource},
      {"other charset", "application/fhir+json; charset=iso-2022-jp", "{\"resourceType\":\"Patient\"}"},
      {"charset prefix", "application/fhir+json;fhirVersion=4.0;charset=utf-80", "{\"resourceType\":\"Patient\"}"},
      {"empty charset", "application/fhir+json; charset=", "{\"resourceType\":\"Patient\"}"},
  };
  for (const Refusal& c : cases) {
    SCOPED_TRACE(c.what);
    const auto out = deidentify(c.content_type, c.body, {kKeyA, kShift});
    ASSERT_FALSE(out);
    EXPECT_EQ(out.error().code, "cannot_anonymize");
    EXPECT_EQ(out.error().message.find("山田"), std::string::npos);
  }
}

TEST(Deidentify, RefusesBadParameters) {
  const std::string body = R"({"resourceType":"Patient"})";
  EXPECT_EQ(deidentify("application/fhir+json", body, {crypto::Bytes(16, 1), kShift}).error().code, "invalid_argument");
  EXPECT_EQ(deidentify("application/fhir+json", body, {kKeyA, days{0}}).error().code, "invalid_argument");
  EXPECT_EQ(deidentify("application/fhir+json", body, {kKeyA, days{4000}}).error().code, "invalid_argument");
  EXPECT_TRUE(deidentify("Application/FHIR+JSON; charset=UTF-8", body, {kKeyA, kShift}));
}

}  // namespace
}  // namespace hiegate::policy
