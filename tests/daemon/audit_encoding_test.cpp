// The audit record's canonical body: the hand-written encoder must give
// exactly the bytes of the nlohmann::json definition, for any field content,
// or trails written before it stopped verifying.
#include <gtest/gtest.h>

#include <random>

#include "audit/chain.hpp"
#include "hiegate/common/utf8.hpp"

namespace hiegate::daemon {
namespace {

std::string random_text(std::mt19937& rng) {
  // Pieces that exercise every escaping rule: controls with and without a
  // short form, quote, backslash, DEL, slash, multi-byte UTF-8 (Japanese,
  // an emoji), and bytes that are not UTF-8 at all.
  static const std::vector<std::string> pieces = {
      "a", "Z", "0", " ", "\"", "\\", "/", "\b", "\f", "\n", "\r", "\t", std::string(1, '\0'), "\x01", "\x1f",
      "\x7f", "患者", "山田", "\xF0\x9F\x98\x80", "\xC3\xA9", "\xFF", "\xC0\xAF", "\xED\xA0\x80", "\xE3\x81"};
  std::uniform_int_distribution<std::size_t> len(0, 12), pick(0, pieces.size() - 1);
  std::string s;
  for (std::size_t i = len(rng); i > 0; --i) s += pieces[pick(rng)];
  return s;
}

AuditRecord random_record(std::mt19937& rng, bool valid_only) {
  auto text = [&] {
    auto s = random_text(rng);
    return valid_only ? valid_utf8(s) : s;
  };
  AuditRecord r;
  r.time_ms = std::uniform_int_distribution<std::int64_t>(INT64_MIN, INT64_MAX)(rng);
  r.event = text();
  static constexpr AuditAction actions[] = {AuditAction::create, AuditAction::read, AuditAction::update,
                                            AuditAction::del, AuditAction::execute};
  r.action = actions[rng() % 5];
  static constexpr AuditOutcome outcomes[] = {AuditOutcome::success, AuditOutcome::minor_failure,
                                              AuditOutcome::serious_failure, AuditOutcome::major_failure};
  r.outcome = outcomes[rng() % 4];
  r.facility = text();
  r.user = text();
  r.role = text();
  r.peer_facility = text();
  r.patient = text();
  r.purpose = text();
  r.reason_code = text();
  r.rule = text();
  r.detail = text();
  r.request_id = text();
  for (auto n = rng() % 4; n > 0; --n) r.document_ids.push_back(text());
  r.emergency = rng() % 2 == 0;
  return r;
}

TEST(AuditEncoding, HandWrittenBodyIsByteForByteTheLibraryOne) {
  std::mt19937 rng(20261121);
  for (int i = 0; i < 5000; ++i) {
    const auto r = random_record(rng, i % 2 == 0);
    const std::uint64_t seq = i % 3 == 0 ? std::uint64_t{UINT64_MAX} - static_cast<std::uint64_t>(i)
                                         : static_cast<std::uint64_t>(i);
    ASSERT_EQ(audit::encode_body(seq, r), audit::encode_body_reference(seq, r)) << "record " << i;
  }
}

TEST(AuditEncoding, EmptyAndTypicalRecordsRoundTrip) {
  AuditRecord r;
  EXPECT_EQ(audit::encode_body(0, r), audit::encode_body_reference(0, r));
  r.event = "document_read";
  r.user = "1300000001/dr-1";
  r.patient = "P-000123";
  r.document_ids = {"doc-1", "doc-2"};
  r.emergency = true;
  r.detail = "意識障害で搬送\n既往歴の確認";
  const auto body = audit::encode_body(42, r);
  EXPECT_EQ(body, audit::encode_body_reference(42, r));
  auto back = audit::decode_body(body);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->seq, 42U);
  EXPECT_EQ(back->record.detail, r.detail);
  EXPECT_EQ(back->record.document_ids, r.document_ids);
  EXPECT_TRUE(back->record.emergency);
}

}  // namespace
}  // namespace hiegate::daemon
